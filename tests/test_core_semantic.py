"""Meaning search in the core: indexing, the in-memory vector matrix following every change of the history."""

from __future__ import annotations

from openai import AzureOpenAI

from app.core import errors, semantic
from app.core.cancel import CancelToken
from app.core.history import History

MODEL = "text-embedding-3-large"


def index(history, client) -> list:
    return list(
        semantic.index_pending(
            history, client, cancel=CancelToken(), ctx=errors.Context("embeddings"), deployment=MODEL
        )
    )


def meaning(history, client, query) -> list[str]:
    hits = semantic.search(
        history,
        client,
        query,
        cancel=CancelToken(),
        ctx=errors.Context("embeddings"),
        deployment=MODEL,
        mode="meaning",
    )
    return [h.snippet for h in hits]


def test_search_follows_deletes_restores_and_edits(emulator):
    client = AzureOpenAI(
        azure_endpoint=emulator.endpoint, api_key="k", api_version="2024-10-01-preview", max_retries=0
    )
    history = History.open()
    trip = history.create_conversation("Road trip").id
    car = history.add_message(trip, "user", "My car broke down").id
    food = history.create_conversation("Food").id
    history.add_message(food, "user", "What should I cook with garlic and basil?")
    assert index(history, client)[-1] == semantic.IndexProgress(2, 0)
    key = semantic.model_key(MODEL, semantic.DEFAULT_DIMENSIONS)
    before = history.vectors_signature(key)
    assert meaning(history, client, "automobile trouble")[0] == "My car broke down"

    history.delete_conversation(trip)
    assert "My car broke down" not in meaning(history, client, "automobile trouble")
    history.restore_conversation(trip)
    assert meaning(history, client, "automobile trouble")[0] == "My car broke down"

    history.update_message_text(car, "Can you suggest a good movie?")  # its old vector is stale and goes
    assert history.vectors_signature(key) != before
    assert meaning(history, client, "automobile trouble") == []
    index(history, client)
    assert meaning(history, client, "a film to watch")[0] == "Can you suggest a good movie?"
    assert history.vector_count(key) == 2 and history.count_without_vectors(key) == 0
