"""What a voice session talks to (`Backend`) and the real one: the profile's transcription, chat and speech
deployments, shaped per family (gpt-4o-transcribe streams its words, gpt-4o-mini-tts gets the speaking style)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.cancel import CancelToken

if TYPE_CHECKING:  # pragma: no cover
    from app.voice.session import VoiceConfig

TRANSCRIBE_RATE = 16000


@dataclass
class Backend:
    """What a session talks to. Functions, so tests and the benchmark can pass the real core with the emulator."""

    transcribe: Callable[..., Iterator[Any]]  # audio_api.transcribe bound to client/ctx/deployment
    chat: Callable[..., Iterator[Any]]  # (messages, cancel) -> chat events
    synthesize: Callable[..., Iterator[Any]]  # (text, cancel) -> AudioChunk events
    recorder_factory: Callable[[], Any]
    player_factory: Callable[[], Any]
    history: Any = None  # app.core.history.History, optional
    conversation_id: int | None = None  # set by the session when it stores its first turn, if it was None
    new_conversation: Callable[[], int] | None = None  # makes the conversation then (the id)
    # () -> (EchoCanceller or None, a note when it could not load); None: no echo cancellation wanted
    echo_factory: Callable[[], tuple[Any, str | None]] | None = None


def backend_for(
    connection: Any,
    config: VoiceConfig,
    *,
    history: Any = None,
    conversation_id: int | None = None,
    new_conversation: Callable[[], int] | None = None,
) -> Backend:
    """The real backend: the profile's transcription, chat and speech deployments, sounddevice in and out."""
    from app.audio.echo import make_canceller
    from app.audio.player import Player
    from app.audio.recorder import Recorder
    from app.core import audio_api, audio_families, chat

    client = connection.client()
    # openai imports each API's modules on first use: pay for that now, not in the first turn (it held the GIL
    # long enough to stall the window ~140 ms in the middle of the first transcription).
    _ = client.audio.transcriptions, client.audio.speech, client.chat.completions
    retries = connection.profile.max_retries
    transcription = connection.deployment("transcription")
    chat_deployment = connection.deployment("chat")
    speech = connection.deployment("speech")
    heard_by = audio_families.family_of(transcription, connection.profile.family(transcription))
    spoken_by = audio_families.family_of(speech, connection.profile.family(speech))
    style = config.instructions.strip() if audio_families.takes_instructions(spoken_by) else ""

    def transcribe(wav: bytes, cancel: CancelToken) -> Iterator[Any]:
        return audio_api.transcribe(
            client,
            wav,
            cancel=cancel,
            ctx=connection.context("transcription"),
            deployment=transcription,
            filename="speech.wav",
            language=config.language,
            max_retries=retries,
            stream=audio_families.streams_transcription(heard_by),
            family=heard_by,
        )

    def answer(messages: list[tuple[str, str]], cancel: CancelToken) -> Iterator[Any]:
        request = chat.ChatRequest(
            deployment=chat_deployment,
            messages=tuple(chat.Message(r, t) for r, t in messages),
            system=config.system_prompt,
        )
        return chat.stream_chat(
            client, request, cancel=cancel, ctx=connection.context("chat"), max_retries=retries
        )

    def synthesize(text: str, cancel: CancelToken) -> Iterator[Any]:
        return audio_api.synthesize(
            client,
            text,
            cancel=cancel,
            ctx=connection.context("speech"),
            deployment=speech,
            voice=config.voice,
            speed=config.speed,
            response_format="pcm",
            max_retries=retries,
            instructions=style or None,
            family=spoken_by,
        )

    return Backend(
        transcribe=transcribe,
        chat=answer,
        synthesize=synthesize,
        # 10 ms blocks: the echo canceller's frame, and a barge-in is heard 20 ms sooner than with 30 ms ones.
        recorder_factory=lambda: Recorder(
            config.input_device, TRANSCRIBE_RATE, blocksize=TRANSCRIBE_RATE // 100
        ),
        player_factory=lambda: Player(config.output_device, 24000),
        history=history,
        conversation_id=conversation_id,
        new_conversation=new_conversation,
        echo_factory=make_canceller,
    )
