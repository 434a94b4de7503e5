"""Embeddings against the emulator: 3072 dims, batching, similarity that means something, vectorised cosine."""

from __future__ import annotations

import numpy as np
import pytest

from app.core import embeddings, errors
from app.core.cancel import CancelToken
from app.core.events import Done, Failed, Retrying

CTX = errors.Context("embeddings", "text-embedding-3-large", "2024-10-21")


@pytest.fixture
def client(emulator):
    from openai import AzureOpenAI

    return AzureOpenAI(azure_endpoint=emulator.endpoint, api_key="k", api_version="2024-10-21", max_retries=0)


def _embed(client, texts, **kw):
    return list(
        embeddings.embed(
            client,
            texts,
            cancel=kw.pop("cancel", CancelToken()),
            ctx=CTX,
            deployment="text-embedding-3-large",
            **kw,
        )
    )


def _requests(emu):
    return [r for r in emu.requests if r.path.endswith("/embeddings")]


def test_one_text_gives_3072_float32_dims(client, emulator):
    events = _embed(client, ["Attention is all you need"])
    batch = events[0]
    assert isinstance(batch, embeddings.EmbeddingBatch) and batch.start == 0
    assert batch.vectors.shape == (1, 3072) and batch.vectors.dtype == np.float32
    assert isinstance(events[-1], Done) and events[-1].usage.prompt_tokens > 0
    sent = _requests(emulator)[-1]
    assert "/openai/deployments/text-embedding-3-large/embeddings" in sent.path
    assert sent.json["input"] == ["Attention is all you need"] and sent.json["encoding_format"] == "base64"


def test_130_texts_go_in_3_batches_in_order(client, emulator):
    texts = [f"note number {i} about topic {i % 7}" for i in range(130)]
    events = _embed(client, texts)
    batches = [e for e in events if isinstance(e, embeddings.EmbeddingBatch)]
    assert [(b.start, len(b.vectors)) for b in batches] == [(0, 64), (64, 64), (128, 2)]
    assert len(_requests(emulator)) == 3
    assert [len(r.json["input"]) for r in _requests(emulator)] == [64, 64, 2]
    whole = np.concatenate([b.vectors for b in batches])
    again = embeddings.embed_all(
        client, [texts[100]], cancel=CancelToken(), ctx=CTX, deployment="text-embedding-3-large"
    )
    assert embeddings.cosine(whole[100], again[0]) == pytest.approx(1.0, abs=1e-5)  # same text, same place


def test_related_texts_are_closer_than_unrelated(client):
    texts = [
        "The cat sat on the mat.",
        "A cat was sitting on the mat.",
        "Quarterly revenue rose by eight percent.",
    ]
    vectors = embeddings.embed_all(
        client, texts, cancel=CancelToken(), ctx=CTX, deployment="text-embedding-3-large"
    )
    related = embeddings.cosine(vectors[0], vectors[1])
    unrelated = embeddings.cosine(vectors[0], vectors[2])
    assert related > unrelated


def test_dimensions_option_reaches_the_wire(client, emulator):
    events = _embed(client, ["short"], dimensions=256)
    assert _requests(emulator)[-1].json["dimensions"] == 256
    batch = events[0]
    assert batch.vectors.shape[1] in (256, 3072)


def test_429_once_retried_per_batch(client, emulator):
    client = client.with_options(default_headers={"x-parley-fault": "429once"})
    events = _embed(client, ["a", "b", "c"], batch_size=2, max_retries=2)
    assert any(isinstance(e, Retrying) for e in events)
    assert sum(isinstance(e, embeddings.EmbeddingBatch) for e in events) == 2 and isinstance(events[-1], Done)


def test_failure_is_a_value(client):
    events = list(embeddings.embed(client, ["x"], cancel=CancelToken(), ctx=CTX, deployment="no-such-model"))
    assert isinstance(events[-1], Failed) and events[-1].problem.kind == errors.Kind.DEPLOYMENT_NOT_FOUND


def test_bad_input_is_config(client, emulator):
    with pytest.raises(errors.ParleyError):
        _embed(client, ["fine", ""])
    with pytest.raises(errors.ParleyError):
        embeddings.embed(client, ["x"], cancel=CancelToken(), ctx=CTX, deployment=" ")
    assert not _requests(emulator)


def test_cancelled_before_start(client):
    cancel = CancelToken()
    cancel.cancel()
    assert _embed(client, ["x"], cancel=cancel) == [Done("cancelled")]


def test_cosine_and_cosine_matrix_agree():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((50, 16)).astype(np.float32)
    matrix[7] = 0.0
    query = rng.standard_normal(16).astype(np.float32)
    scores = embeddings.cosine_matrix(query, matrix)
    assert scores.shape == (50,) and scores.dtype == np.float32
    expected = [embeddings.cosine(query, row) for row in matrix]
    assert np.allclose(scores, expected, atol=1e-5)
    assert scores[7] == 0.0
    assert embeddings.cosine([1, 0], [1, 0]) == pytest.approx(1.0)
    assert embeddings.cosine([1, 0], [0, 1]) == pytest.approx(0.0)
    assert embeddings.cosine([1, 0], [-1, 0]) == pytest.approx(-1.0)
    best = embeddings.top_k(matrix[3], matrix, k=3)
    assert best[0][0] == 3 and best[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)
    assert embeddings.cosine_matrix(query, np.zeros((0, 16), np.float32)).shape == (0,)
    with pytest.raises(ValueError):
        embeddings.cosine_matrix(query, matrix[:, :8])
