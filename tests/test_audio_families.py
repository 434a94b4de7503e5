"""Today's audio models against the emulator with the real openai client: gpt-4o-transcribe / -mini-transcribe
(streamed words, usage, json only), gpt-4o-mini-tts with a speaking style and its voices; whisper and tts-hd as
before. What went on the wire is read from the emulator's record."""

from __future__ import annotations

import threading
import time

import openai
import pytest
import signals

from app.audio import wav
from app.core import audio_api, audio_families, errors
from app.core.audio_api import AudioChunk, Transcript, TranscriptDelta
from app.core.cancel import CancelToken
from app.core.capabilities import Family
from app.core.events import Done, Failed, Started

PREVIEW = "2025-04-01-preview"
SAID = "Testing, testing, one, two, three."


def _client(emu, **headers):
    return openai.AzureOpenAI(
        azure_endpoint=emu.endpoint,
        api_key="k",
        api_version=PREVIEW,
        max_retries=0,
        default_headers=headers or None,
    )


def _wav(text: str = SAID, seconds: float = 1.0) -> bytes:
    return wav.with_comment(wav.encode_wav(signals.tone(220, seconds, 16000), 16000), text)


def _transcribe(client, deployment: str, audio: bytes | None = None, **kw) -> list:
    ctx = errors.Context("transcription", deployment, PREVIEW)
    gen = audio_api.transcribe(
        client, audio or _wav(), cancel=kw.pop("cancel", CancelToken()), ctx=ctx, deployment=deployment, **kw
    )
    return list(gen)


def _sent(emu, suffix: str):
    return [r for r in emu.requests if r.path.endswith(suffix)][-1]


def test_streamed_transcription_gives_the_words_before_the_transcript(emulator):
    emulator.token_rate = 40  # a word every 25 ms: the deltas really arrive one by one
    events = _transcribe(_client(emulator), "gpt-4o-transcribe", stream=True, language="en")

    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Started" and kinds[-2:] == ["Transcript", "Done"]
    deltas = [e.text for e in events if isinstance(e, TranscriptDelta)]
    assert len(deltas) == len(SAID.split()) and "".join(deltas) == SAID
    transcript = next(e for e in events if isinstance(e, Transcript))
    assert transcript.text == SAID and transcript.duration == pytest.approx(1.0)
    assert transcript.request_id and transcript.request_id == events[0].request_id
    assert transcript.usage is not None and transcript.usage.audio_tokens == transcript.usage.input_tokens > 0
    assert transcript.usage.output_tokens > 0 and events[-1].finish_reason == "stop"

    sent = _sent(emulator, "/audio/transcriptions")
    assert sent.path == "/openai/deployments/gpt-4o-transcribe/audio/transcriptions"
    assert sent.form["stream"] == "true" and sent.form["response_format"] == "json"
    assert sent.form["language"] == "en" and sent.form["model"] == "gpt-4o-transcribe"


def test_mini_transcribe_without_stream_returns_text_and_usage(emulator):
    events = _transcribe(_client(emulator), "gpt-4o-mini-transcribe")
    assert not [e for e in events if isinstance(e, TranscriptDelta | Started)]
    transcript = next(e for e in events if isinstance(e, Transcript))
    assert transcript.text == SAID and transcript.usage is not None and transcript.usage.total_tokens > 0
    assert "stream" not in _sent(emulator, "/audio/transcriptions").form


def test_whisper_is_never_asked_to_stream_and_answers_as_before(emulator):
    events = _transcribe(_client(emulator), "whisper", stream=True)
    assert [type(e).__name__ for e in events] == ["Transcript", "Done"]
    assert events[0].text == SAID and events[0].usage is None
    sent = _sent(emulator, "/audio/transcriptions")
    assert "stream" not in sent.form and sent.form["response_format"] == "json"


def test_an_opaque_deployment_name_streams_when_its_family_is_known(emulator):
    """The profile's family decides, not the name: a deployment named "whisper" but set to gpt-4o-transcribe is
    asked to stream. (The emulator's whisper ignores `stream` and answers one JSON object, as Azure's does: the
    reader takes that as the whole transcript instead of calling the connection lost.)"""
    events = _transcribe(_client(emulator), "whisper", stream=True, family=Family.TRANSCRIBE)
    assert _sent(emulator, "/audio/transcriptions").form["stream"] == "true"
    assert [type(e).__name__ for e in events] == ["Started", "TranscriptDelta", "Transcript", "Done"]
    assert events[1].text == events[2].text == SAID


def test_gpt_4o_transcribe_rejects_verbose_json_with_azures_envelope(emulator):
    client = _client(emulator)
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=("a.wav", _wav(), "audio/wav"), response_format="verbose_json"
        )
    assert caught.value.body == {
        "message": "response_format 'verbose_json' is not compatible with model 'gpt-4o-transcribe'. "
        "Use 'json' or 'text' instead.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": "unsupported_value",
    }
    text = client.audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=("a.wav", _wav(), "audio/wav"), response_format="text"
    )
    assert str(text).strip() == SAID


def test_a_stream_cut_midway_is_a_network_problem_with_the_words_so_far_shown(emulator):
    emulator.token_rate = 200
    events = _transcribe(_client(emulator), "gpt-4o-transcribe", stream=True, prompt="fault:cut")
    assert [e for e in events if isinstance(e, TranscriptDelta)]
    assert isinstance(events[-1], Failed) and events[-1].problem.kind == errors.Kind.NETWORK
    assert not [e for e in events if isinstance(e, Transcript)]


def test_cancel_mid_stream_ends_the_transcription_at_once(emulator):
    emulator.token_rate = 2  # half a second a word
    cancel = CancelToken()
    gen = audio_api.transcribe(
        _client(emulator), _wav(), cancel=cancel, deployment="gpt-4o-transcribe", stream=True
    )
    seen = []
    for event in gen:
        seen.append(event)
        if isinstance(event, TranscriptDelta):
            threading.Timer(0.05, cancel.cancel).start()
            started = time.monotonic()
            break
    rest = list(gen)
    assert time.monotonic() - started < 1.0
    assert rest[-1] == Done("cancelled") and not [e for e in rest if isinstance(e, Transcript)]


def _speak(emu, deployment: str, **kw) -> bytes:
    events = list(
        audio_api.synthesize(
            _client(emu), "Hello there, how are you?", cancel=CancelToken(), deployment=deployment, **kw
        )
    )
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "stop", events[-1]
    return b"".join(e.data for e in events if isinstance(e, AudioChunk))


def test_mini_tts_sends_the_speaking_style_and_it_changes_the_voice(emulator):
    plain = _speak(emulator, "gpt-4o-mini-tts", voice="coral")
    assert "instructions" not in _sent(emulator, "/audio/speech").json
    styled = _speak(
        emulator, "gpt-4o-mini-tts", voice="coral", instructions="  Speak like a calm librarian.  "
    )
    body = _sent(emulator, "/audio/speech").json
    assert body["instructions"] == "Speak like a calm librarian." and body["voice"] == "coral"
    assert body["model"] == "gpt-4o-mini-tts" and styled and styled != plain


def test_tts_hd_keeps_its_six_voices_and_takes_no_speaking_style(emulator):
    assert _speak(emulator, "tts-hd", voice="nova")
    assert "instructions" not in _sent(emulator, "/audio/speech").json
    count = len(emulator.requests)
    for kw in ({"voice": "coral"}, {"voice": "alloy", "instructions": "Whisper."}):
        with pytest.raises(errors.ParleyError) as caught:
            audio_api.synthesize(_client(emulator), "Hi.", cancel=CancelToken(), deployment="tts-hd", **kw)
        assert caught.value.problem.kind == errors.Kind.CONFIG
    assert len(emulator.requests) == count  # nothing was sent


def test_the_emulator_rejects_a_mini_tts_voice_on_tts_as_azure_does(emulator):
    with pytest.raises(openai.BadRequestError) as caught:
        _client(emulator).audio.speech.create(model="tts", voice="coral", input="Hi.", response_format="pcm")
    assert caught.value.body["param"] == "voice" and caught.value.body["code"] == "invalid_value"


def test_voices_per_family():
    assert audio_families.voices_for(Family.TTS) == ("alloy", "echo", "fable", "onyx", "nova", "shimmer")
    assert audio_families.voices_for(None) == audio_families.voices_for(Family.TTS)
    instruct = audio_families.voices_for(Family.TTS_INSTRUCT)
    assert set(audio_families.voices_for(Family.TTS)) < set(instruct)
    assert {"ash", "ballad", "coral", "sage", "verse", "marin", "cedar"} <= set(instruct)


def test_speak_to_file_with_a_style_sends_it_with_every_piece(emulator, tmp_path):
    text = "First sentence here. " * 4
    events = list(
        audio_api.speak_to_file(
            _client(emulator),
            text,
            tmp_path / "out.wav",
            cancel=CancelToken(),
            deployment="gpt-4o-mini-tts",
            voice="sage",
            instructions="Cheerful.",
            limit=30,
        )
    )
    saved = next(e for e in events if isinstance(e, audio_api.SavedAudio))
    speech = [r for r in emulator.requests if r.path.endswith("/audio/speech")]
    assert saved.pieces == len(speech) > 1
    assert {r.json["instructions"] for r in speech} == {"Cheerful."}
