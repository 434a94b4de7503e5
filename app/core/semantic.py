"""Search history by meaning: embed messages in the background (batched, resumable), rank by cosine, merge with FTS."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core import errors
from app.core.cancel import CancelToken
from app.core.events import Failed, Retrying

if TYPE_CHECKING:  # types only: importing them costs start-up time
    import numpy as np
    import numpy.typing as npt
    from openai import AzureOpenAI

    from app.core.history import History

DEFAULT_DIMENSIONS = (
    256  # text-embedding-3 models shorten vectors on request; 256 keeps 100k messages ~100 MB
)
MIN_SCORE = 0.25


@dataclass(frozen=True)
class IndexProgress:
    indexed: int  # in this run
    remaining: int  # known still to do (a lower bound while scanning)


@dataclass(frozen=True)
class Hit:
    message_id: int
    conversation_id: int
    conversation_title: str
    role: str
    snippet: str
    exact: bool  # found by words (FTS) as well as, or instead of, by meaning
    score: float  # cosine similarity for meaning hits; 1.0 for exact-only hits


@dataclass(frozen=True)
class IndexState:
    dimensions: int | None  # the vector size this deployment's index uses
    indexed: int  # messages with a vector
    pending: int  # messages still without one


def model_key(deployment: str, dimensions: int | None) -> str:
    """Vectors of different deployments or sizes never mix."""
    return f"{deployment}:{dimensions or 'full'}"


def dimensions_for(history: History, deployment: str) -> int | None:
    """DEFAULT_DIMENSIONS, unless this deployment's index holds only full-size vectors (a model that cannot shorten
    them, such as text-embedding-ada-002)."""
    if (
        history.vector_count(model_key(deployment, DEFAULT_DIMENSIONS)) == 0
        and history.vector_count(model_key(deployment, None)) > 0
    ):
        return None
    return DEFAULT_DIMENSIONS


def index_state(history: History, deployment: str) -> IndexState:
    dimensions = dimensions_for(history, deployment)
    key = model_key(deployment, dimensions)
    return IndexState(dimensions, history.vector_count(key), history.count_without_vectors(key))


def rejects_dimensions(problem: errors.Problem) -> bool:
    """Azure's 400 for `dimensions` sent to a model that has a fixed size: index with full-size vectors instead."""
    return (
        problem.kind == errors.Kind.BAD_REQUEST
        and "dimensions" in f"{problem.detail} {problem.code or ''}".lower()
    )


def index_pending(
    history: History,
    client: AzureOpenAI,
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    deployment: str,
    dimensions: int | None = DEFAULT_DIMENSIONS,
    batch_size: int = 64,
    max_retries: int = 2,
) -> Iterator[IndexProgress | Retrying | Failed]:
    """Embed every message that has no vector yet. Stops (and can resume later) on cancel or failure."""
    from app.core import embeddings

    key = model_key(deployment, dimensions)
    done = 0
    while not cancel.cancelled:
        todo = history.messages_without_vectors(key, limit=batch_size * 4)
        if not todo:
            break
        texts = [text[:8000] or " " for _, text in todo]  # embeddings reject empty input and very long text
        for event in embeddings.embed(
            client,
            texts,
            cancel=cancel,
            ctx=ctx,
            deployment=deployment,
            dimensions=dimensions,
            batch_size=batch_size,
            max_retries=max_retries,
        ):
            if isinstance(event, embeddings.EmbeddingBatch):
                ids = [mid for mid, _ in todo[event.start : event.start + len(event.vectors)]]
                history.store_vectors((mid, key, vec) for mid, vec in zip(ids, event.vectors, strict=True))
                done += len(ids)
                yield IndexProgress(done, len(todo) - event.start - len(ids))
            elif isinstance(event, Failed):
                yield event
                return
            elif isinstance(event, Retrying):
                yield event
    yield IndexProgress(done, 0)


def search(
    history: History,
    client: AzureOpenAI | None,
    query: str,
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    deployment: str | None,
    dimensions: int | None = DEFAULT_DIMENSIONS,
    limit: int = 30,
    mode: str = "both",
) -> list[Hit]:
    """'exact' (FTS5 words), 'meaning' (cosine), or 'both' merged: exact hits first, then the closest in meaning.
    `client` may be None only when no `deployment` is given (an exact search needs no connection)."""
    import numpy as np

    from app.core import embeddings

    hits: dict[int, Hit] = {}
    if mode in ("exact", "both"):
        for h in history.search(query, limit=limit):
            hits[h.message_id] = Hit(
                h.message_id, h.conversation_id, h.conversation_title, h.role, h.snippet, True, 1.0
            )
    if mode in ("meaning", "both") and deployment and query.strip():
        key = model_key(deployment, dimensions)
        ids, matrix = vector_matrix(history, key)
        if ids:
            assert client is not None, "a search by meaning needs a client"
            vector = None
            for event in embeddings.embed(
                client,
                [query],
                cancel=cancel,
                ctx=ctx,
                deployment=deployment,
                dimensions=dimensions,
                batch_size=1,
            ):
                if isinstance(event, embeddings.EmbeddingBatch):
                    vector = event.vectors[0]
                elif isinstance(event, Failed):
                    raise errors.ParleyError(event.problem)
            if vector is not None:
                scores = embeddings.cosine_matrix(vector, matrix)
                top = min(limit * 2, scores.size)
                order = np.argpartition(-scores, top - 1)[:top]
                order = order[np.argsort(-scores[order], kind="stable")]
                for i in order:
                    score = float(scores[i])
                    if score < MIN_SCORE or len(hits) >= limit * 2:
                        break
                    mid = int(ids[i])
                    if mid in hits:
                        continue
                    message = history.get_message(mid)
                    if message is None:
                        continue
                    conversation = history.get_conversation(message.conversation_id)
                    if conversation is None or conversation.deleted_at:
                        continue
                    hits[mid] = Hit(
                        mid,
                        message.conversation_id,
                        conversation.title,
                        message.role,
                        _snippet(message.text),
                        False,
                        score,
                    )
    exact = [h for h in hits.values() if h.exact]
    meaning = sorted((h for h in hits.values() if not h.exact), key=lambda h: -h.score)
    return (exact + meaning)[:limit]


_matrices: dict[
    str, tuple[tuple[int, int, int], list[int], npt.NDArray[np.float32]]
] = {}  # history file + model -> (signature, ids, matrix)
_matrices_lock = threading.Lock()


def vector_matrix(history: History, model: str) -> tuple[list[int], npt.NDArray[np.float32]]:
    """Message ids and their vectors as a float32 matrix [n, dim], kept in memory between searches and read again
    only when the history's vectors changed (reading 10,000 of them costs about 100 ms; a search should not).
    Includes messages of deleted conversations: `search` checks each hit."""
    import numpy as np

    where = f"{getattr(history, 'path', '')}\0{model}"
    signature = (id(history), *history.vectors_signature(model))
    with _matrices_lock:
        cached = _matrices.get(where)
        if cached is not None and cached[0] == signature:
            return cached[1], cached[2]
    ids, blob = history.vectors(model, include_deleted=True)
    matrix = (
        np.frombuffer(blob, dtype=np.float32).reshape(len(ids), -1) if ids else np.zeros((0, 0), np.float32)
    )
    with _matrices_lock:
        for other in [k for k in _matrices if k.startswith(f"{getattr(history, 'path', '')}\0")]:
            del _matrices[other]  # one model per history file: the one being searched
        _matrices[where] = (signature, ids, matrix)
    return ids, matrix


def _snippet(text: str, width: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
