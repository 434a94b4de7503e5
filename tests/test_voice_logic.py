"""Voice decisions without a device: VAD on synthetic signals, Markdown stripped for speech, streamed sentence cuts."""

from __future__ import annotations

import numpy as np

from app.audio.vad import BargeIn, SpeechEnded, SpeechStarted, Vad, VadConfig
from app.voice.speech_text import SentenceSplitter, split_long, strip_markdown

RATE = 16000


def tone(seconds: float, amp: float, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    # A voiced, syllable-like signal: harmonics under a 4 Hz amplitude envelope.
    env = 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 4 * t))
    sig = sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
    return (amp * env * sig / 1.8).astype(np.float32)


def noise(seconds: float, amp: float, seed: int = 1) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(RATE * seconds))).astype(np.float32)


def run(vad: Vad, signal: np.ndarray, chunk: int = 512):
    events = []
    for i in range(0, len(signal), chunk):
        events += vad.feed(signal[i : i + chunk])
    return events


def test_speech_burst_between_silences_is_one_turn():
    signal = np.concatenate([noise(1.0, 0.001), tone(1.2, 0.3), noise(1.5, 0.001)])
    events = run(Vad(RATE), signal)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    start, end = events
    assert abs(start.at - 1.0) < 0.1
    assert abs(end.duration - 1.2) < 0.15
    # The turn ends 500-800 ms after the voice stops.
    assert 0.5 <= end.at - 2.2 <= 0.8


def test_short_pause_inside_a_sentence_does_not_end_the_turn():
    signal = np.concatenate(
        [noise(0.5, 0.001), tone(0.8, 0.3), noise(0.3, 0.001), tone(0.8, 0.3), noise(1.2, 0.001)]
    )
    events = run(Vad(RATE), signal)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]


def test_steady_room_noise_is_learned_and_not_speech():
    # A loud fan: far above digital silence, but constant. No turn may start, and the floor rises to meet it.
    fan = noise(6.0, 0.03)
    vad = Vad(RATE)
    assert run(vad, fan) == []
    assert vad.noise_floor_db > -40


def test_speech_over_room_noise_is_still_heard():
    signal = np.concatenate(
        [noise(4.0, 0.02), noise(1.2, 0.02, seed=2) + tone(1.2, 0.4), noise(1.5, 0.02, seed=3)]
    )
    events = run(Vad(RATE), signal)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]


def syllables(seconds: float, loud: float = 0.3, quiet: float = 0.01) -> np.ndarray:
    """90 ms syllables with 60 ms dips between them, like espeak-ng's speech through the virtual microphone."""
    n_on, n_off = int(0.09 * RATE), int(0.06 * RATE)
    pattern = np.concatenate([tone(0.09, loud), tone(0.06, quiet)])
    return np.tile(pattern, int(seconds * RATE) // (n_on + n_off) + 1)[: int(seconds * RATE)]


def test_speech_from_the_first_frame_starts_a_turn_at_once():
    # The user talks the moment listening begins: the floor is learned from speech's own dips, so no run of
    # 120 ms stays above it; the turn must start anyway, and early enough for a 0.6 s pre-roll to hold its start.
    events = run(Vad(RATE), np.concatenate([syllables(1.5), noise(1.5, 0.001)]), chunk=480)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    assert events[0].at < 0.35
    assert 1.2 < events[1].duration < 1.6


def barge_in_times(signal: np.ndarray, playing_from: float = 0.0) -> list[float]:
    detector, hits = BargeIn(RATE), []
    for i in range(0, len(signal), 480):
        if detector.feed(signal[i : i + 480], playing=i / RATE >= playing_from):
            hits.append(round(i / RATE, 2))
    return hits


def test_parley_hearing_its_own_voice_is_not_a_barge_in():
    # Silence, then Parley's voice comes back through the microphone (onset, loud and soft syllables).
    echo = np.concatenate(
        [noise(0.5, 0.001), syllables(2.0, loud=0.25), syllables(2.0, loud=0.12), syllables(2.0, loud=0.3)]
    )
    assert barge_in_times(echo, playing_from=0.4) == []


def test_the_user_speaking_over_the_echo_is_a_barge_in():
    echo = np.concatenate([noise(0.5, 0.001), syllables(3.5, loud=0.03)])
    user = np.concatenate([np.zeros(int(2.5 * RATE), np.float32), tone(1.5, 0.5)])
    hits = barge_in_times(echo + user, playing_from=0.4)
    assert hits and 2.5 < hits[0] < 2.9


def test_click_is_not_speech():
    signal = np.concatenate([noise(0.5, 0.001), tone(0.05, 0.8), noise(1.0, 0.001)])
    assert run(Vad(RATE), signal) == []


def test_sensitivity_margin_is_adjustable():
    quiet_voice = np.concatenate([noise(1.0, 0.002), tone(1.0, 0.012), noise(1.0, 0.002)])
    assert run(Vad(RATE, VadConfig(margin_db=20)), quiet_voice) == []
    assert len(run(Vad(RATE, VadConfig(margin_db=3, min_level_db=-70)), quiet_voice)) == 2


def test_markdown_is_stripped_for_speech():
    md = "## Steps\n\n- **Open** the [portal](https://portal.azure.com/x)\n- Run `az login`\n\n```python\nprint('x')\n```\nSee https://learn.microsoft.com/azure for more."
    spoken = strip_markdown(md)
    assert "```" not in spoken and "print(" not in spoken and "**" not in spoken and "#" not in spoken
    assert "Steps." in spoken and "Open the portal" in spoken and "az login" in spoken
    assert "code example on screen" in spoken
    assert "a link to learn.microsoft.com" in spoken and "https://" not in spoken


def test_sentences_come_out_as_soon_as_they_end():
    splitter = SentenceSplitter()
    got = []
    for piece in [
        "Microsoft was founded",
        " in 1975 by Bill Gates.",
        " It is based",
        " in Redmond, e.g. near Seattle.",
        " Done",
    ]:
        got.append(splitter.feed(piece))
    # A full stop is only an end once the next word shows it is not "Gates.com" or "2.5".
    assert got[0] == [] and got[1] == [] and got[2] == ["Microsoft was founded in 1975 by Bill Gates."]
    assert got[4] == ["It is based in Redmond, e.g. near Seattle."]
    assert splitter.flush() == ["Done."]


def test_code_block_is_held_until_closed_and_never_read():
    splitter = SentenceSplitter()
    out = splitter.feed("Here is code:\n\n```python\nx = 1. Then y = 2. Still code.\n")
    assert all("x = 1" not in s for s in out)
    out += splitter.feed("```\nAfter the code. And more.")
    out += splitter.flush()
    joined = " ".join(out)
    assert "x = 1" not in joined and "After the code." in joined


def test_long_text_split_at_sentences_under_limit():
    text = " ".join(f"Sentence number {i} is here." for i in range(800))
    pieces = split_long(text, 4096)
    assert len(pieces) > 1 and all(len(p) <= 4096 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text


def test_a_spoken_answer_with_a_url_urllib_cannot_read_is_said_not_raised():
    assert strip_markdown("see https://[::1 for more") == "see a link to a website for more."


def _cancelled_barge_in(glitch_s: float, user_s: float) -> tuple[bool, float | None]:
    """A converged canceller (the raw mic holds Parley's loud echo, the cleaned one a faint residual) 4 s into an
    answer; then a `glitch_s` burst where the canceller lost the echo's alignment (a loaded machine: the cleaned
    signal is the raw echo); then, if `user_s`, the user speaking over Parley. (any barge-in during the glitch,
    seconds from the user's onset to the barge-in)."""
    from app.audio.vad import CancelledBargeIn

    detector = CancelledBargeIn(RATE, VadConfig(), margin_db=10.0)
    echo = tone(6.0, 0.3, 180.0)
    residual = noise(6.0, 0.002, seed=5)
    block = RATE // 50  # 20 ms, as the recorder delivers
    at = 0

    def feed(raw: np.ndarray, clean: np.ndarray) -> bool:
        hit = False
        for i in range(0, len(raw), block):
            hit = detector.feed_pair(raw[i : i + block], clean[i : i + block], True) or hit
        return hit

    four = 4 * RATE
    assert not feed(echo[:four], residual[:four]), "a converged canceller's residual taken for the user"
    at = four
    g = int(glitch_s * RATE)
    if feed(echo[at : at + g], echo[at : at + g]):  # the leak: the cleaned signal is Parley's voice
        return True, None
    at += g
    ok = feed(echo[at : at + int(0.2 * RATE)], residual[at : at + int(0.2 * RATE)])  # converged again
    assert not ok
    at += int(0.2 * RATE)
    if not user_s:
        return False, None
    n = int(user_s * RATE)
    user = syllables(user_s, loud=0.2)[:n]
    for i in range(0, n, block):
        if detector.feed_pair(echo[at + i : at + i + block] + user[i : i + block], user[i : i + block], True):
            return False, (i + block) / RATE
    return False, None


def test_a_short_echo_leak_of_a_loaded_machines_canceller_is_not_a_barge_in():
    # CI's one failure: 5 s into an answer, WebRTC's canceller let Parley's voice through for ~60 ms (measured
    # under load: 32 dB over the bar) and Parley stopped itself to listen. A leak is short; the user goes on.
    for glitch in (0.04, 0.06, 0.08):
        leaked, _ = _cancelled_barge_in(glitch, 0.0)
        assert not leaked, f"a {glitch * 1000:.0f} ms echo leak stopped Parley"
    # The user's first syllable (90 ms) decides: heard 0.10 s after they start (0.06 s before this fix).
    _, after = _cancelled_barge_in(0.06, 0.6)
    assert after is not None and after <= 0.12, f"the user speaking over Parley heard after {after} s"
