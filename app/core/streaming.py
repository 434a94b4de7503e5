"""The event machinery shared by chat and legacy completions: an openai stream or one whole response becomes
Started, filter verdicts, deltas, Retrying and Done/Failed, bounded in time and cancellable at once.

Azure adds content-filter results to the OpenAI wire format; the openai client keeps them as extra fields:
`prompt_filter_results` on the first chunk (with no choices), `choices[0].content_filter_results` on chunks with
text, and on later chunks without text when the deployment uses the asynchronous filter. They become `FilterResult`
events: one per prompt index, and for the completion the first verdict, then one whenever a category changes, and
the final one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from app.core import errors, filters
from app.core.cancel import Cancelled, CancelToken
from app.core.deadline import DEFAULT_TIMEOUT, Watchdog, timed_out, watched
from app.core.events import Delta, Done, Event, Failed, FilterResult, Started, Usage
from app.core.netio import body_start, cancellable, close_on_cancel, parsed
from app.core.retry import retrying

DROPPED = "The connection dropped before the answer was complete."
GARBLED = (
    "Part of the answer arrived garbled (not valid JSON or UTF-8, or not shaped like Azure's answers), so the "
    "stream was ended there."
)


class Malformed(ValueError):
    """A chunk that is JSON but not shaped like Azure's: the stream broke there, as at a line that is not JSON."""


def _shaped(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """`value` when it is missing or of `kind`; anything else is a `Malformed` chunk, not a TypeError later on."""
    if value is None or isinstance(value, kind):
        return value
    raise Malformed(f"{what} is {type(value).__name__}")


def extra(obj: Any, name: str) -> Any:
    """An Azure extra field of an openai model (kept in `model_extra`) or a dict."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        value = (getattr(obj, "model_extra", None) or {}).get(name)
    return value


def as_dicts(client: Any, stream: Any) -> Any:
    """The same openai `Stream`, yielding each chunk's JSON as a plain dict instead of a pydantic model.

    Building a model per chunk costs ~125 µs of worker CPU (measured: a 10 MB answer in 25,000 chunks took 3.1 s of
    CPU in 5 s of streaming; as dicts 0.4 s), and that worker holds the GIL the GUI thread needs to paint. The
    stream's own SSE decoding, in-stream error events and closing are kept; nothing has been read from it yet.
    """
    import openai

    if not isinstance(stream, openai.Stream):
        return stream
    return openai.Stream(cast_to=object, response=stream.response, client=client)


def _cat_key(c: filters.Category) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (c.name, c.details if c.name == "custom_blocklists" else ())


def worst_of(old: filters.Verdict | None, new: filters.Verdict) -> filters.Verdict:
    """Merge a later completion verdict into the one so far, keeping the worst of each category.

    The asynchronous filter reports each stretch of text separately; a later 'safe' stretch must not clear an
    earlier detection.
    """
    if old is None:
        return new
    by_key = {_cat_key(c): c for c in old.categories}
    for c in new.categories:
        prev = by_key.get(_cat_key(c))
        if prev is None:
            by_key[_cat_key(c)] = c
            continue
        sev = prev.severity
        if c.severity is not None and filters.SEVERITY_ORDER.get(c.severity, 0) >= filters.SEVERITY_ORDER.get(
            sev or "safe", 0
        ):
            sev = c.severity
        detected = None if prev.detected is None and c.detected is None else bool(prev.detected or c.detected)
        by_key[_cat_key(c)] = filters.Category(
            c.name, prev.filtered or c.filtered, sev, detected, c.details or prev.details
        )
    return filters.Verdict(old.source, tuple(by_key.values()), old.index, new.error or old.error)


def _signature(v: filters.Verdict | None) -> Any:
    if v is None:
        return None
    return (v.error, tuple(sorted((_cat_key(c), c.filtered, c.severity, c.detected) for c in v.categories)))


def _header(response: Any, name: str) -> str | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        return headers.get(name) or None
    except Exception:  # noqa: BLE001
        return None


def _request_id(response: Any) -> str | None:
    return _header(response, "x-request-id") or _header(response, "apim-request-id")


class _State:
    """What the events so far have said: model, usage, finish reason and the completion verdict."""

    def __init__(self, text_of: Callable[[Any], str | None]):
        self.text_of = text_of
        self.model: str | None = None
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.verdict: filters.Verdict | None = None
        self.emitted: Any = None
        self.prompt_seen: set[Any] = set()
        self.text_len = 0

    def handle(self, chunk: Any) -> list[Event]:
        """The events of one chunk (a plain dict from `as_dicts`, or an openai model from a whole answer).

        The one place a chunk's shape is checked: a member of the wrong type, here or deeper (filter results, usage),
        raises `Malformed`, which ends the stream as garbled, with the text so far kept."""
        if isinstance(chunk, str | bytes | int | float | list):
            raise Malformed(f"a chunk is {type(chunk).__name__}, not an object")
        try:
            return self._read(chunk)
        except Malformed:
            raise
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            raise Malformed(f"{type(exc).__name__}: {exc}") from exc

    def _read(self, chunk: Any) -> list[Event]:
        out: list[Event] = []
        self.model = _shaped(extra(chunk, "model"), str, "model") or self.model
        for v in filters.prompt_verdicts(
            extra(chunk, "prompt_filter_results") or extra(chunk, "prompt_annotations")
        ):
            key = (v.index, _signature(v))
            if key not in self.prompt_seen:
                self.prompt_seen.add(key)
                out.append(FilterResult(v))
        usage = extra(chunk, "usage")
        if usage is not None:
            self.usage = Usage.from_obj(usage)
        for choice in _shaped(extra(chunk, "choices"), list, "choices") or ():
            if choice is None or isinstance(choice, str | bytes | int | float | list):
                raise Malformed(f"a choice is {type(choice).__name__}, not an object")
            if (_shaped(extra(choice, "index"), int, "a choice's index") or 0) != 0:
                continue
            text = _shaped(self.text_of(choice), str, "the text")
            if text:
                self.text_len += len(text)
                out.append(Delta(text))
            results = _shaped(extra(choice, "content_filter_results"), dict, "content_filter_results")
            if results:
                verdict = filters.completion_verdict(results)
                if verdict is not None:
                    self.verdict = worst_of(self.verdict, verdict)
                    if self.emitted is None or _signature(self.verdict) != self.emitted:
                        out.append(self._emit())
            finish_reason = _shaped(extra(choice, "finish_reason"), str, "finish_reason")
            if finish_reason:
                self.finish_reason = finish_reason
        return out

    def _emit(self) -> FilterResult:
        assert self.verdict is not None
        self.emitted = _signature(self.verdict)
        return FilterResult(self.verdict)

    def final(self) -> list[Event]:
        if self.verdict is not None and _signature(self.verdict) != self.emitted:
            return [self._emit()]
        return []


def _mid_stream_problem(exc: BaseException, ctx: errors.Context, request_id: str | None) -> errors.Problem:
    import openai

    again = "Send again to retry; the partial answer is kept."
    if isinstance(exc, openai.APITimeoutError):
        return errors.Problem(
            errors.Kind.TIMEOUT,
            "Answer stopped",
            "Azure stopped sending before the answer was complete.",
            again,
            request_id=request_id,
        )
    if isinstance(exc, TimeoutError):  # our watchdog: silence mid-answer (keep-alive comments do not count)
        return errors.Problem(errors.Kind.TIMEOUT, "Answer stopped", str(exc), again, request_id=request_id)
    if isinstance(exc, openai.APIConnectionError | OSError):
        return errors.Problem(errors.Kind.NETWORK, "Connection lost", DROPPED, again, request_id=request_id)
    if isinstance(
        exc, ValueError
    ):  # a malformed line, garbage bytes or a `Malformed` chunk: broke, like a cut one
        return errors.Problem(
            errors.Kind.NETWORK, "The answer stream broke", GARBLED, again, request_id=request_id
        )
    if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIStatusError):
        return errors.Problem(
            errors.Kind.SERVER,
            "Azure stopped the answer",
            str(exc.message or exc),
            again,
            request_id=request_id,
        )
    problem = errors.from_exception(exc, ctx)
    if problem.request_id is None and request_id:
        problem = replace(problem, request_id=request_id)
    return problem


def _expect_events(stream: Any) -> None:
    """A 200 that is not an event stream (a proxy's or captive portal's page) is not an answer: read as events it
    would be an empty stream, a 'connection lost'."""
    http = getattr(stream, "response", None)
    ctype = _header(http, "content-type")
    if ctype is not None and "event-stream" not in ctype:
        raise errors.UnexpectedReply(ctype, *body_start(http))


def run_stream(
    open_stream: Callable[[], Any],
    text_of: Callable[[Any], str | None],
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Event]:
    """Events from an openai `Stream` opened by `open_stream()` (chat or legacy completions).

    Retries (ours) cover opening the stream and its first chunk; after that a failure ends with `Failed`.
    Time bounds (`deadline.Watchdog`): the first chunk must arrive within `timeout` of the call, retries included,
    and no two chunks may be more than `timeout` apart (keep-alive comments do not count).
    """
    state = _State(text_of)
    start_by = time.monotonic() + timeout

    def open_and_peek() -> tuple[Any, Iterator[Any], Any, Watchdog]:
        request = cancel.child()
        dog = Watchdog(request, idle=timeout, deadline=start_by).__enter__()
        stream = None
        try:
            with cancellable(request):
                stream = open_stream()
            close_on_cancel(stream, request)
            _expect_events(stream)
            it = iter(stream)
            first = next(it, None)
        except BaseException as exc:
            dog.__exit__(None, None, None)
            cancel.forget(request.cancel)
            if stream is not None:
                stream.close()
            if dog.fired and not cancel.cancelled:
                raise timed_out(timeout, started=False) from exc
            raise
        dog.feed()
        return stream, it, first, dog

    try:
        stream, it, first, dog = yield from retrying(
            open_and_peek, cancel=cancel, max_retries=max_retries, ctx=ctx, deadline=start_by
        )
    except Cancelled:
        yield Done("cancelled")
        return
    except errors.ParleyError as exc:
        yield Failed(exc.problem)
        return

    request_id = _request_id(getattr(stream, "response", None))
    yield Started(request_id)
    try:
        chunk = first
        while chunk is not None:
            if cancel.cancelled:
                break
            dog.feed()
            yield from state.handle(chunk)
            chunk = next(it, None)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an event
        if not cancel.cancelled:
            yield from state.final()
            failure = timed_out(timeout, started=True) if dog.fired else exc
            yield Failed(_mid_stream_problem(failure, ctx, request_id))
            return
    finally:
        dog.__exit__(None, None, None)
        cancel.forget(dog.token.cancel)
        stream.close()
    if cancel.cancelled:
        yield Done("cancelled", state.usage, request_id, state.model)
        return
    yield from state.final()
    if dog.fired:  # the cut socket may read as a clean end of stream
        yield Failed(_mid_stream_problem(timed_out(timeout, started=True), ctx, request_id))
        return
    if state.finish_reason is None:
        yield Failed(
            errors.Problem(
                errors.Kind.NETWORK,
                "Connection lost",
                DROPPED,
                "Send again to retry; the partial answer is kept.",
                request_id=request_id,
            )
        )
        return
    yield Done(state.finish_reason, state.usage, request_id, state.model)


def run_whole(
    open_response: Callable[[], Any],
    text_of: Callable[[Any], str | None],
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Event]:
    """The same events from one non-streamed response. `open_response()` returns a `with_streaming_response`
    context manager, so the socket is known (and cancellable) before the body is read. Bounded like a stream: the
    whole answer must come within `timeout` of the call, retries included (`deadline.Watchdog`)."""
    start_by = time.monotonic() + timeout

    def call_once(
        request: CancelToken, _feed: Callable[[], None]
    ) -> tuple[Any, str | None, _State, list[Event]]:
        manager = open_response()
        with cancellable(request):
            response = manager.__enter__()
        try:
            close_on_cancel(response, request)
            result = parsed(response, "choices")
            state = _State(text_of)
            try:
                events = state.handle(result)
            except Malformed:  # a whole answer of another shape: what came back is quoted, as for a page
                raise errors.UnexpectedReply(
                    _header(response, "content-type"), *body_start(response)
                ) from None
            return result, _request_id(response), state, events
        finally:
            manager.__exit__(None, None, None)

    def call() -> tuple[Any, str | None, _State, list[Event]]:
        return watched(call_once, cancel, timeout=timeout, start_by=start_by)

    try:
        result, request_id, state, events = yield from retrying(
            call, cancel=cancel, max_retries=max_retries, ctx=ctx, deadline=start_by
        )
    except Cancelled:
        yield Done("cancelled")
        return
    except errors.ParleyError as exc:
        yield Failed(exc.problem)
        return
    if cancel.cancelled:
        yield Done("cancelled", request_id=request_id)
        return
    request_id = getattr(result, "_request_id", None) or request_id
    yield Started(request_id)
    yield from events
    yield from state.final()
    yield Done(state.finish_reason, state.usage, request_id, state.model)
