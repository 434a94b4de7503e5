"""Embeddings in batches (each inside our retries) and cosine similarity; numpy is imported inside the functions."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core import errors
from app.core.cancel import Cancelled, CancelToken
from app.core.deadline import timeout_of
from app.core.events import Done, Failed, Usage
from app.core.netio import request_parsed
from app.core.retry import retrying

if TYPE_CHECKING:  # types only: importing them costs start-up time
    import numpy as np
    import numpy.typing as npt
    from openai import AzureOpenAI

MAX_BATCH = 2048  # Azure's limit of inputs per request
DEFAULT_BATCH = 64


@dataclass(frozen=True)
class EmbeddingBatch:
    """Vectors for `texts[start : start + len(vectors)]`, in order; `vectors` is float32 of shape [n, dim]."""

    start: int
    vectors: npt.NDArray[np.float32]
    usage: Usage | None = None
    request_id: str | None = None


def embed(
    client: AzureOpenAI,
    texts: Sequence[str],
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("embeddings"),
    deployment: str,
    dimensions: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_retries: int = 2,
) -> Iterator[Any]:
    """Embed `texts` (checked now: raises `ParleyError` CONFIG for an empty text or a blank deployment).

    Yields `Retrying`s and one `EmbeddingBatch` per request of at most `batch_size` texts, then `Done("stop")` with the
    summed usage; or `Failed(problem)` (earlier batches stay valid); or `Done("cancelled")`.
    """
    if not (deployment or "").strip():
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "No embeddings deployment",
                "No embeddings deployment is set for this profile.",
                "Enter the embeddings deployment name (e.g. text-embedding-3-large) in Settings.",
            )
        )
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text:
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.CONFIG,
                    "Empty text",
                    f"Text {i + 1} of {len(texts)} is empty; Azure rejects empty input.",
                    "Leave empty texts out (or replace them with a space) before embedding.",
                )
            )
    size = max(1, min(int(batch_size), MAX_BATCH))
    return _embed(client, texts, cancel, ctx, deployment, dimensions, size, max_retries)


def _embed(
    client: AzureOpenAI,
    texts: list[str],
    cancel: CancelToken,
    ctx: errors.Context,
    deployment: str,
    dimensions: int | None,
    size: int,
    max_retries: int,
) -> Iterator[Any]:
    # base64: a quarter of the bytes of JSON floats, and no Python float object per dimension to parse and collect
    # (with float, indexing thousands of messages set off garbage collections that held the GIL for 100+ ms).
    options: dict[str, Any] = {"encoding_format": "base64"}
    if dimensions:
        options["dimensions"] = int(dimensions)
    total = [0, 0, 0]
    last_id = None
    timeout = timeout_of(client)
    try:
        for start in range(0, len(texts), size):
            batch = texts[start : start + size]
            start_by = time.monotonic() + timeout  # each batch is one request, bounded like a chat answer

            def call(batch: list[str] = batch, start_by: float = start_by) -> tuple[Any, Any]:
                return request_parsed(
                    lambda: client.embeddings.with_streaming_response.create(
                        model=deployment, input=batch, **options
                    ),
                    cancel,
                    timeout=timeout,
                    start_by=start_by,
                    member="data",
                    convert=_answer,
                )

            headers, result = yield from retrying(
                call, cancel=cancel, max_retries=max_retries, ctx=ctx, deadline=start_by
            )
            last_id = (
                (headers.get("apim-request-id") or headers.get("x-request-id"))
                if headers is not None
                else None
            )
            vectors, usage = result
            if len(vectors) != len(batch):
                raise errors.ParleyError(
                    errors.Problem(
                        errors.Kind.OTHER,
                        "Unexpected answer",
                        f"Asked for {len(batch)} vectors, got {len(vectors)}.",
                        "Retry; if it persists, report it with the request id.",
                        request_id=last_id,
                    )
                )
            if usage is not None:
                total[0] += usage.prompt_tokens
                total[2] += usage.total_tokens
            yield EmbeddingBatch(start, vectors, usage, last_id)
        yield Done("stop", usage=Usage(total[0], total[1], total[2]), request_id=last_id, model=deployment)
    except Cancelled:
        yield Done("cancelled")
    except errors.ParleyError as exc:
        yield Failed(exc.problem)
    except Exception as exc:  # noqa: BLE001 - errors leave a generator as values
        yield Done("cancelled") if cancel.cancelled else Failed(errors.from_exception(exc, ctx))


def _answer(result: Any) -> tuple[npt.NDArray[np.float32], Usage | None]:
    """The vectors [n, dim] in input order and the usage of one answer; raises a `netio.SHAPE_ERRORS` error for JSON
    of another shape (`request_parsed` quotes it as an unexpected reply)."""
    import numpy as np

    data = sorted(result.data, key=lambda d: int(d.index))
    vectors = [_vector(d.embedding) for d in data]
    stacked = np.stack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
    return stacked, Usage.from_obj(getattr(result, "usage", None))


def _vector(embedding: str | list[float]) -> npt.NDArray[np.float32]:
    import numpy as np

    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4").astype(np.float32)
    if not isinstance(embedding, list) or not embedding:
        raise TypeError(f"an embedding is {type(embedding).__name__}")
    return np.asarray(embedding, dtype=np.float32)  # a server that answered floats anyway


def embed_all(
    client: AzureOpenAI,
    texts: Sequence[str],
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("embeddings"),
    deployment: str,
    dimensions: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_retries: int = 2,
) -> npt.NDArray[np.float32]:
    """All vectors as one float32 array [len(texts), dim]; raises `ParleyError` (or `Cancelled`) instead of events."""
    import numpy as np

    parts: list[Any] = []
    for event in embed(
        client,
        texts,
        cancel=cancel,
        ctx=ctx,
        deployment=deployment,
        dimensions=dimensions,
        batch_size=batch_size,
        max_retries=max_retries,
    ):
        if isinstance(event, EmbeddingBatch):
            parts.append(event.vectors)
        elif isinstance(event, Failed):
            raise errors.ParleyError(event.problem)
        elif isinstance(event, Done) and event.finish_reason == "cancelled":
            raise Cancelled()
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def cosine(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    import numpy as np

    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"vectors differ in length: {x.size} and {y.size}")
    denom = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(np.dot(x, y) / denom) if denom > 0 else 0.0


def cosine_matrix(query: npt.ArrayLike, matrix: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Cosine similarity of `query` [dim] with every row of `matrix` [n, dim] -> float32 [n] (0 for zero rows)."""
    import numpy as np

    q = np.asarray(query, dtype=np.float32).ravel()
    m = np.asarray(matrix, dtype=np.float32)
    if m.size == 0:
        return np.zeros(0 if m.ndim < 2 else m.shape[0], dtype=np.float32)
    if m.ndim == 1:
        m = m.reshape(1, -1)
    if m.shape[1] != q.size:
        raise ValueError(f"query has {q.size} dimensions, matrix rows have {m.shape[1]}")
    norms = np.linalg.norm(m, axis=1) * np.linalg.norm(q)
    dots = m @ q
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)
    return scores.astype(np.float32)


def top_k(query: npt.ArrayLike, matrix: npt.ArrayLike, k: int = 10) -> list[tuple[int, float]]:
    """(row index, score) of the `k` rows most similar to `query`, best first."""
    import numpy as np

    scores = cosine_matrix(query, matrix)
    if scores.size == 0 or k <= 0:
        return []
    k = min(k, scores.size)
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return [(int(i), float(scores[i])) for i in idx]
