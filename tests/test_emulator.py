"""The emulator, driven by the real openai client: every route, every demo word and fault, Azure's checks."""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import time
import wave
import zlib

import numpy as np
import openai
import pytest
from openai import AzureOpenAI

from app.emulator import DEMO_WORDS, Emulator
from app.emulator.content import answer_markdown, tokenize

PREVIEW = "2024-10-01-preview"


@pytest.fixture(scope="module")
def emu():
    with Emulator(token_rate=0) as e:
        e.job_seconds = 0.6
        yield e


def client(emu, version=PREVIEW, key="k", **kw):
    kw.setdefault("max_retries", 0)
    return AzureOpenAI(azure_endpoint=emu.endpoint, api_key=key, api_version=version, **kw)


def ask(c, text, **kw):
    return c.chat.completions.create(
        model=kw.pop("model", "gpt-4o"), messages=[{"role": "user", "content": text}], **kw
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def tiny_png(w: int, h: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x10\x20\x30" * w for _ in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def wav_bytes(samples: np.ndarray, rate: int = 16000, comment: str | None = None) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    data = buf.getvalue()
    if comment is not None:
        text = comment.encode() + b"\x00"
        text += b"\x00" * (len(text) % 2)
        info = b"INFO" + b"ICMT" + struct.pack("<I", len(text)) + text
        body = data[12:] + b"LIST" + struct.pack("<I", len(info)) + info
        data = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    return data


# -- chat -------------------------------------------------------------------------------------------------------


def test_chat_whole_response_has_azure_shape(emu):
    r = ask(client(emu), "Explain Python decorators please")
    assert r._request_id and r.model == "gpt-4o-2024-08-06" and r.object == "chat.completion"
    text = r.choices[0].message.content
    assert (
        "> Explain Python decorators please" in text
        and "## " in text
        and "\n- " in text
        and "```python" in text
    )
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].model_extra["content_filter_results"]["violence"] == {
        "filtered": False,
        "severity": "safe",
    }
    pfr = r.model_extra["prompt_filter_results"]
    assert [p["prompt_index"] for p in pfr] == [0] and pfr[0]["content_filter_results"]["jailbreak"][
        "detected"
    ] is False
    assert 120 <= r.usage.completion_tokens <= 200 and r.usage.prompt_tokens >= 5
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert (
        ask(client(emu), "Explain Python decorators please").choices[0].message.content == text
    )  # deterministic
    assert ask(client(emu), "How do I bake bread?").choices[0].message.content != text


def test_chat_stream_chunks(emu):
    stream = ask(client(emu), "Tell me about Markdown", stream=True, stream_options={"include_usage": True})
    chunks = list(stream)  # ends at [DONE]
    first = chunks[0]
    assert first.choices == [] and first.model_extra["prompt_filter_results"][0]["prompt_index"] == 0
    assert chunks[1].choices[0].delta.role == "assistant"
    deltas = [c for c in chunks[2:] if c.choices and c.choices[0].delta.content]
    assert len(deltas) > 50
    assert all(
        c.choices[0].model_extra["content_filter_results"]["hate"]["severity"] == "safe" for c in deltas
    )
    final = chunks[-2]
    assert final.choices[0].finish_reason == "stop" and final.choices[0].delta.content is None
    usage = chunks[-1]
    assert usage.choices == [] and usage.usage.completion_tokens == len(deltas)
    text = "".join(c.choices[0].delta.content for c in deltas)
    assert text == ask(client(emu), "Tell me about Markdown").choices[0].message.content
    assert stream.response.headers["content-type"].startswith("text/event-stream")


def test_stream_without_usage_and_max_tokens(emu):
    chunks = list(ask(client(emu), "hello there", stream=True, max_tokens=10))
    assert chunks[-1].choices[0].finish_reason == "length" and chunks[-1].usage is None
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 10
    r = ask(client(emu), "hello there", max_tokens=10)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 10


def test_tokens_reproduce_the_markdown():
    text = answer_markdown("What is a **monad**?\n\nAsk  twice.", tokens=700)
    assert "".join(tokenize(text)) == text and len(tokenize(text)) == 700


def test_image_input_is_described(emu):
    url = "data:image/png;base64," + base64.b64encode(tiny_png(640, 480)).decode()
    r = client(emu).chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What's in this image?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
    )
    assert "640×480 pixels" in r.choices[0].message.content
    pfr = r.model_extra["prompt_filter_results"]
    assert [p["prompt_index"] for p in pfr] == [0, 1]
    assert (
        set(pfr[0]["content_filter_results"]) == {"jailbreak"}
        and "sexual" in pfr[1]["content_filter_results"]
    )
    assert r.usage.prompt_tokens > 85
    with pytest.raises(openai.BadRequestError):
        client(emu).chat.completions.create(
            model="gpt-4o",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,bm90IGFuIGltYWdl"}}
                    ],
                }
            ],
        )


def test_len_demo_word_and_header(emu):
    r = ask(client(emu), "len:600 write about rivers")
    assert r.usage.completion_tokens == 600
    r = ask(client(emu, default_headers={"x-parley-tokens": "40"}), "rivers")
    assert r.usage.completion_tokens == 40


# -- content filters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("word,jail", [("filter:prompt", False), ("filter:jailbreak", True)])
def test_filtered_prompt_envelope(emu, word, jail):
    with pytest.raises(openai.BadRequestError) as info:
        ask(client(emu), f"please {word} now", stream=True)
    err = info.value
    assert (
        err.status_code == 400 and err.request_id and err.code == "content_filter" and err.param == "prompt"
    )
    assert err.body["message"].startswith(
        "The response was filtered due to the prompt triggering Azure OpenAI"
    )
    inner = err.body["innererror"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    assert inner["content_filter_result"]["jailbreak"] == {"filtered": jail, "detected": jail}
    assert inner["content_filter_result"]["violence"]["filtered"] is (not jail)


def test_filtered_answer(emu):
    full = ask(client(emu), "filter:answer talk").choices[0]
    assert full.finish_reason == "content_filter"
    assert full.model_extra["content_filter_results"]["violence"] == {"filtered": True, "severity": "high"}
    chunks = list(ask(client(emu), "filter:answer talk", stream=True))
    last = chunks[-1].choices[0]
    assert (
        last.finish_reason == "content_filter"
        and last.model_extra["content_filter_results"]["violence"]["filtered"]
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.message.content and 0 < len(text)


def test_async_filter_annotations_after_last_delta(emu):
    chunks = list(ask(client(emu), "filter:async tell me", stream=True))
    with_content = [
        i
        for i, c in enumerate(chunks)
        if c.choices and getattr(c.choices[0], "delta", None) and c.choices[0].delta.content
    ]
    assert all(chunks[i].choices[0].model_extra["content_filter_results"] == {} for i in with_content)
    late = [
        c
        for c in chunks[with_content[-1] + 1 :]
        if c.choices and "content_filter_offsets" in c.choices[0].model_extra
    ]
    assert len(late) == 2
    results = late[-1].choices[0].model_extra["content_filter_results"]
    assert results["protected_material_text"] == {"filtered": False, "detected": True}
    assert results["violence"]["severity"] == "low"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_dalle_content_policy_violation(emu):
    with pytest.raises(openai.BadRequestError) as info:
        client(emu).images.generate(model="dall-e-3", prompt="filter:image a scene")
    body = info.value.body
    assert info.value.code == "content_policy_violation"
    assert body["message"].startswith("Your request was rejected as a result of our safety system.")
    assert body["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
    assert (
        body["inner_error"]["content_filter_results"]["sexual"]["filtered"]
        and body["inner_error"]["revised_prompt"]
    )


# -- Azure's checks ---------------------------------------------------------------------------------------------


def test_missing_and_wrong_key_and_bearer():
    with Emulator(api_key="right", token_rate=0) as e:
        import httpx2

        r = httpx2.post(
            f"{e.endpoint}/openai/deployments/gpt-4o/chat/completions?api-version={PREVIEW}",
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
        assert r.status_code == 401 and r.headers["x-request-id"] and r.headers["apim-request-id"]
        assert r.json() == {
            "error": {
                "code": "401",
                "message": "Access denied due to missing subscription key. "
                "Make sure to include subscription key when making requests to an API.",
            }
        }
        with pytest.raises(openai.AuthenticationError) as info:
            ask(client(e, key="wrong"), "hi")
        assert "invalid subscription key" in info.value.message and info.value.request_id
        assert ask(client(e, key="right"), "hi").choices[0].message.content
        bearer = AzureOpenAI(
            azure_endpoint=e.endpoint, azure_ad_token="tok", api_version=PREVIEW, max_retries=0
        )
        assert ask(bearer, "hi").choices
        rec = e.requests[-1]
        assert rec.auth_scheme == "Bearer" and not rec.had_api_key and rec.used_key("tok")
        assert rec.headers["authorization"] == "Bearer <redacted>"


def test_api_version_and_deployment_errors(emu):
    with pytest.raises(openai.NotFoundError) as info:
        ask(client(emu, version="1999-01-01"), "hi")
    assert info.value.body == {"code": "404", "message": "Resource not found"}
    with pytest.raises(openai.NotFoundError) as info:
        ask(client(emu), "hi", model="gpt-9")
    assert info.value.code == "DeploymentNotFound" and "does not exist" in info.value.message
    with pytest.raises(openai.BadRequestError) as info:
        ask(client(emu), "hi", model="text-embedding-3-large")
    assert info.value.code == "OperationNotSupported"
    assert info.value.body["message"].startswith(
        "The chatCompletion operation does not work with the specified model"
    )


def test_requests_are_recorded_and_redacted(emu):
    ask(client(emu, key="secret-key"), "record me", temperature=0.3)
    rec = emu.requests[-1]
    assert rec.method == "POST" and rec.path == "/openai/deployments/gpt-4o/chat/completions"
    assert rec.query == {"api-version": PREVIEW}
    assert (
        rec.json["messages"] == [{"role": "user", "content": "record me"}] and rec.json["temperature"] == 0.3
    )
    assert rec.headers["api-key"] == "<redacted>" and "secret-key" not in repr(rec)
    assert rec.had_api_key and rec.auth_scheme == "api-key" and rec.used_key("secret-key")
    assert rec.body_size > 0 and len(emu.requests) <= 500


# -- faults -----------------------------------------------------------------------------------------------------


def test_429_and_500(emu):
    with pytest.raises(openai.RateLimitError) as info:
        ask(client(emu), "fault:429 hi")
    err = info.value
    assert err.response.headers["retry-after-ms"] == "300" and err.response.headers["retry-after"] == "1"
    assert err.code == "429" and "exceeded token rate limit" in err.message and err.request_id
    with pytest.raises(openai.InternalServerError) as info:
        ask(client(emu), "fault:500 hi")
    assert info.value.body == {
        "code": "InternalServerError",
        "message": "The server had an error while processing your request. Sorry about that!",
    }
    with pytest.raises(openai.RateLimitError):  # by header, on another route
        client(emu, default_headers={"x-parley-fault": "429"}).embeddings.create(
            model="text-embedding-3-small", input="x"
        )


@pytest.mark.parametrize("fault", ["429once", "500once"])
def test_once_faults_succeed_on_retry(emu, fault):
    before = len(emu.requests)
    r = ask(client(emu, max_retries=2), f"fault:{fault} unique {fault}")
    assert r.choices[0].message.content
    assert len(emu.requests) - before == 2


def test_cut_stream_raises_connection_error(emu):
    got = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in ask(client(emu), "fault:cut tell me", stream=True):
            got.append(chunk)
    assert got[0].choices == [] and 5 < len(got) < 100


def test_hang_times_out_and_stop_is_prompt():
    e = Emulator(token_rate=0)
    e.start()
    with pytest.raises(openai.APITimeoutError):
        ask(client(e, timeout=1.0), "fault:hang")
    seen: list[BaseException] = []

    def wait_forever():
        try:
            ask(client(e, timeout=30), "fault:hang")
        except openai.APIError as exc:
            seen.append(exc)

    hanging = threading.Thread(target=wait_forever)
    hanging.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    e.stop()
    assert time.monotonic() - t0 < 2.0
    hanging.join(3)
    assert not hanging.is_alive() and isinstance(seen[0], openai.APIConnectionError)


def test_slow_paces_the_stream(emu):
    t0 = time.monotonic()
    chunks = list(ask(client(emu, default_headers={"x-parley-tokens": "6"}), "fault:slow=20 hi", stream=True))
    assert time.monotonic() - t0 >= 6 / 20 * 0.8 and chunks[-1].choices[0].finish_reason == "stop"


# -- legacy completions -----------------------------------------------------------------------------------------


def test_completions_whole_and_streamed(emu):
    c = client(emu)
    r = c.completions.create(
        model="gpt-35-turbo-instruct", prompt="Hello World!", max_tokens=100, temperature=0
    )
    assert r.object == "text_completion" and r.choices[0].text.startswith("\n\nHello World!")
    assert r.choices[0].model_extra["content_filter_results"]["sexual"]["severity"] == "safe"
    assert r.model_extra["prompt_filter_results"][0]["prompt_index"] == 0
    chunks = list(
        c.completions.create(
            model="gpt-35-turbo-instruct", prompt="Hello World!", max_tokens=100, stream=True
        )
    )
    assert chunks[0].choices == [] and "prompt_filter_results" in chunks[0].model_extra
    assert "".join(ch.choices[0].text for ch in chunks if ch.choices) == r.choices[0].text
    assert chunks[-1].choices[0].finish_reason == r.choices[0].finish_reason
    assert (
        c.completions.create(model="gpt-35-turbo-instruct", prompt="Hi").choices[0].finish_reason == "length"
    )
    with pytest.raises(openai.BadRequestError) as info:
        c.completions.create(model="gpt-35-turbo-instruct", prompt="filter:prompt")
    assert info.value.code == "content_filter"


# -- embeddings -------------------------------------------------------------------------------------------------


def test_embeddings_similarity_and_dimensions(emu):
    c = client(emu)
    texts = [
        "I bought a big car",
        "I purchased a large automobile",
        "The doctor examined the child",
        "Quarterly revenue rose by eight percent",
    ]
    r = c.embeddings.create(model="text-embedding-3-large", input=texts, encoding_format="float")
    vecs = np.array([d.embedding for d in r.data])
    assert vecs.shape == (4, 3072) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2] and sims[0, 1] > sims[0, 3] and sims[0, 1] > 0.3
    assert r.usage.prompt_tokens == r.usage.total_tokens > 0
    b64 = c.embeddings.create(model="text-embedding-3-large", input=texts[0])  # the client asks for base64
    assert np.allclose(b64.data[0].embedding, vecs[0], atol=1e-6)
    assert emu.requests[-1].json["encoding_format"] == "base64"
    small = c.embeddings.create(
        model="text-embedding-3-small", input="x", dimensions=256, encoding_format="float"
    )
    assert len(small.data[0].embedding) == 256
    assert len(c.embeddings.create(model="text-embedding-ada-002", input="x").data[0].embedding) == 1536
    with pytest.raises(openai.BadRequestError):
        c.embeddings.create(model="text-embedding-ada-002", input="x", dimensions=256)


# -- speech and transcription -----------------------------------------------------------------------------------


def test_speech_wav_and_pcm(emu):
    c = client(emu)
    r = c.audio.speech.create(
        model="tts-hd", voice="alloy", input="Testing, testing, one two three.", response_format="wav"
    )
    with wave.open(io.BytesIO(r.content)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    assert len(samples) / 24000 > 1.0 and np.sqrt(np.mean(samples**2)) > 0.05
    with c.audio.speech.with_streaming_response.create(
        model="tts", voice="nova", input="Hello there. " * 20, response_format="pcm", speed=1.5
    ) as resp:
        parts = list(resp.iter_bytes(4800))
    assert len(parts) > 3 and sum(map(len, parts)) % 2 == 0


def test_speech_errors(emu):
    c = client(emu)
    with pytest.raises(openai.NotFoundError):
        client(emu, version="2024-10-21").audio.speech.create(
            model="tts-hd", voice="alloy", input="hi", response_format="wav"
        )
    with pytest.raises(openai.BadRequestError) as info:
        c.audio.speech.create(model="tts-hd", voice="alloy", input="x" * 4097, response_format="wav")
    assert "4096" in info.value.message
    with pytest.raises(openai.BadRequestError) as info:
        c.audio.speech.create(model="tts-hd", voice="alloy", input="hi")  # mp3 by default
    assert "wav and pcm only" in info.value.message
    with pytest.raises(openai.BadRequestError):
        c.audio.speech.create(model="tts-hd", voice="robot", input="hi", response_format="wav")


def test_transcription(emu):
    c = client(emu)
    silent = wav_bytes(np.zeros(16000, np.float32))
    assert c.audio.transcriptions.create(model="whisper", file=("s.wav", silent)).text == ""
    tone = 0.3 * np.sin(np.arange(32000) / 16000 * 2 * np.pi * 220).astype(np.float32)
    commented = wav_bytes(tone, comment="Testing, testing, one, two, three.")
    r = c.audio.transcriptions.create(model="whisper", file=("speech.wav", commented), language="en")
    assert r.text == "Testing, testing, one, two, three."
    rec = emu.requests[-1]
    assert (
        rec.form["model"] == "whisper"
        and rec.form["language"] == "en"
        and rec.files["file"][0] == "speech.wav"
    )
    plain = c.audio.transcriptions.create(
        model="whisper", file=("t.wav", wav_bytes(tone)), response_format="verbose_json"
    )
    assert plain.text == "This is the emulator's transcript of 2.0 seconds of speech."
    assert (
        plain.duration == pytest.approx(2.0) and plain.segments[0].end > 1.5 and plain.language == "english"
    )
    text = c.audio.transcriptions.create(model="whisper", file=("t.wav", commented), response_format="text")
    assert text.strip() == "Testing, testing, one, two, three."
    srt = c.audio.transcriptions.create(model="whisper", file=("t.wav", commented), response_format="srt")
    assert "00:00:00,000 --> " in srt


def test_heard_text_is_the_transcript_of_uncommented_speech_only(emu):
    c = client(emu)
    tone = 0.3 * np.sin(np.arange(32000) / 16000 * 2 * np.pi * 220).astype(np.float32)
    before = len(emu.transcripts)  # the emulator is shared by this module's tests
    emu.hear("What is the capital of France?", "And of Spain?")
    silent = wav_bytes(np.zeros(16000, np.float32))
    assert (
        c.audio.transcriptions.create(model="whisper", file=("s.wav", silent)).text == ""
    )  # silence takes none
    commented = wav_bytes(tone, comment="From the comment.")
    assert (
        c.audio.transcriptions.create(model="whisper", file=("c.wav", commented)).text == "From the comment."
    )
    assert (
        c.audio.transcriptions.create(model="whisper", file=("a.wav", wav_bytes(tone))).text
        == "What is the capital of France?"
    )
    assert (
        c.audio.transcriptions.create(model="whisper", file=("b.wav", wav_bytes(tone))).text
        == "And of Spain?"
    )
    assert c.audio.transcriptions.create(model="whisper", file=("d.wav", wav_bytes(tone))).text.startswith(
        "This is"
    )
    got = emu.transcripts[before:]
    assert [t for t, _ in got] == [
        "",
        "From the comment.",
        "What is the capital of France?",
        "And of Spain?",
        "This is the emulator's transcript of 2.0 seconds of speech.",
    ]
    assert got[0][1] == pytest.approx(1.0) and got[2][1] == pytest.approx(2.0)


def test_upload_over_25_mib_is_413(emu):
    with pytest.raises(openai.APIStatusError) as info:
        client(emu).audio.transcriptions.create(
            model="whisper", file=("big.wav", b"\0" * (25 * 1024 * 1024 + 10))
        )
    assert info.value.status_code == 413 and "26214400" in info.value.message


# -- images -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size,fmt", [("1024x1024", "b64_json"), ("1792x1024", "url")])
def test_dalle_png_both_formats(emu, size, fmt):
    r = client(emu).images.generate(
        model="dall-e-3",
        prompt="A rabbit eating pancakes",
        n=1,
        size=size,
        quality="hd",
        response_format=fmt,
        style="vivid",
    )
    item = r.data[0]
    if fmt == "b64_json":
        png = base64.b64decode(item.b64_json)
    else:
        import httpx2

        assert item.url.startswith(emu.endpoint)
        png = httpx2.get(item.url).content
    assert png_size(png) == tuple(int(v) for v in size.split("x"))
    assert item.revised_prompt and item.revised_prompt != "A rabbit eating pancakes"
    assert item.model_extra["content_filter_results"]["hate"]["severity"] == "safe"
    assert item.model_extra["prompt_filter_results"]["profanity"] == {"detected": False, "filtered": False}


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"n": 2}, "n=1"),
        ({"size": "512x512"}, "1792x1024"),
        ({"quality": "ultra"}, "quality"),
        ({"style": "cartoon"}, "style"),
    ],
)
def test_dalle_bad_options(emu, kw, needle):
    with pytest.raises(openai.BadRequestError) as info:
        client(emu).images.generate(model="dall-e-3", prompt="a cat", **kw)
    assert needle in info.value.message


# -- files, fine-tuning, batches ----------------------------------------------------------------------------------


def test_files_fine_tuning_and_batches(emu):
    c = client(emu, version="2024-10-21")
    line = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}
    f = c.files.create(file=("train.jsonl", (json.dumps(line) + "\n").encode()), purpose="fine-tune")
    assert f.filename == "train.jsonl" and f.purpose == "fine-tune" and f.status == "processed"
    assert f.id in [x.id for x in c.files.list()] and c.files.retrieve(f.id).bytes == f.bytes
    assert c.files.content(f.id).content.startswith(b'{"messages"')
    job = c.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=f.id)
    assert job.status == "validating_files" and job.training_file == f.id
    second = c.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=f.id)
    page = c.fine_tuning.jobs.list(limit=1)
    assert [j.id for j in page.data] == [second.id] and page.has_more
    assert [j.id for j in c.fine_tuning.jobs.list(after=second.id).data] == [job.id]
    assert c.fine_tuning.jobs.cancel(second.id).status == "cancelled"
    time.sleep(0.7)
    done = c.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    events = c.fine_tuning.jobs.list_events(job.id).data
    assert events[0].message == "The job has successfully completed"

    batch_line = {
        "custom_id": "t-1",
        "method": "POST",
        "url": "/chat/completions",
        "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    }
    bf = c.files.create(file=("batch.jsonl", (json.dumps(batch_line) + "\n") * 3), purpose="batch")
    b = c.batches.create(input_file_id=bf.id, endpoint="/chat/completions", completion_window="24h")
    assert b.status == "validating" and b.request_counts.total == 3
    other = c.batches.create(input_file_id=bf.id, endpoint="/chat/completions", completion_window="24h")
    assert c.batches.cancel(other.id).status == "cancelled"
    assert {b.id, other.id} <= {x.id for x in c.batches.list()}
    time.sleep(0.7)
    finished = c.batches.retrieve(b.id)
    assert finished.status == "completed" and finished.request_counts.completed == 3
    output = c.files.content(finished.output_file_id).text.splitlines()
    assert json.loads(output[0])["response"]["status_code"] == 200
    assert c.files.delete(f.id).deleted
    with pytest.raises(openai.NotFoundError):
        c.batches.retrieve("batch_missing")
    with pytest.raises(openai.NotFoundError):
        c.files.retrieve(f.id)


def test_demo_words_table_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "emulator.md").read_text(encoding="utf-8")
    for word in DEMO_WORDS:
        assert f"`{word}`" in doc
