"""Demo mode offers today's lineup in every tab (#14), as a user meets it on first start with nothing configured: the
Images tab shows gpt-image's options (no DALL-E "hd"/"vivid") and generates with them, the Voice tab offers the
speaking-style field and gpt-4o-mini-tts's voices, and a spoken question's words stream in from gpt-4o-transcribe.
The seed's deployments keep their own tests (test_images_tab.py, test_voice_modern.py)."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt
from test_voice_modern import _one_turn
from test_voice_session import WORDS

from app.core.capabilities import Family
from app.ui.images.tab import ImagesTab
from app.ui.voice.tab import VoiceTab
from app.voice.events import UserHearing, UserSaid


def items(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


@pytest.fixture
def images(qtbot, services):
    tab = ImagesTab(services)
    qtbot.addWidget(tab)
    tab.resize(1100, 760)
    with qtbot.waitSignal(tab.gallery.loaded, timeout=10000):
        tab.show()
    yield tab
    tab.shutdown()


def test_the_images_tab_opens_on_gpt_image_and_generates_with_its_options(qtbot, images, services):
    options = images.options
    assert options.deployment() == "gpt-image-1"
    assert items(options.deployment_combo)[:2] == ["gpt-image-1", "gpt-image-1-mini"]
    assert "dall-e-3" in items(options.deployment_combo)  # the seed's is still there to choose
    assert options.family is Family.GPT_IMAGE and options.family_combo.currentText() == "GPT-image"
    assert items(options.quality_combo) == ["low", "medium", "high", "auto"]
    assert options.quality_combo.currentText() == "auto"  # Azure's default until the user picks one
    assert items(options.size_combo) == ["1024x1024", "1536x1024", "1024x1536", "auto"]
    assert options.background_combo.isVisibleTo(images) and options.output_format_combo.isVisibleTo(images)
    assert not options.style_combo.isVisibleTo(images) and not options.format_combo.isVisibleTo(images)
    shown = {text for combo in (options.size_combo, options.quality_combo) for text in items(combo)}
    assert not shown & {"hd", "standard", "vivid", "natural", "1792x1024"}

    images.prompt.setPlainText("A rabbit eating pancakes")
    qtbot.mouseClick(images.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(images.gallery.records()) == 1, timeout=30000)
    sent = [r for r in services.connection.emulator.requests if r.path.endswith("/images/generations")][-1]
    assert "/deployments/gpt-image-1/" in sent.path
    assert sent.json["quality"] == "auto" and sent.json["size"] == "1024x1024"
    assert sent.json["output_format"] == "png" and sent.json["background"] == "auto"
    assert "response_format" not in sent.json and "style" not in sent.json  # gpt-image rejects both
    record = images.gallery.records()[0]
    assert record.format == "png" and record.path.endswith(".png") and record.deployment == "gpt-image-1"
    assert record.usage is not None and record.usage.output_tokens > 0  # gpt-image's token usage, kept


@pytest.fixture
def voice(qtbot, services):
    tab = VoiceTab(services)  # never shown: PortAudio is not started
    qtbot.addWidget(tab)
    tab.on_connection(services.connection)
    combo = tab.engine.engine_combo
    assert combo.currentData() == "live"  # the demo has gpt-realtime: Live is the default engine ...
    combo.setCurrentIndex(combo.findData("chained"))  # ... and these are about the chained engine's speech
    yield tab
    tab.shutdown()


def test_the_voice_tab_offers_the_speaking_style_and_its_voices(voice):
    assert voice.speech.style_shown and voice.style_field.isVisibleTo(voice)
    voices = items(voice.voice_combo)
    assert len(voices) == 13 and {"coral", "sage", "marin", "cedar"} <= set(voices)


def test_a_demo_transcription_streams_the_words_and_the_answer_speaks_in_the_style(voice, services):
    emulator = services.connection.emulator
    emulator.token_rate = 50
    emulator.hear(WORDS)
    voice.style_field.setText("Speak like a calm librarian.")
    events = _one_turn(
        services.connection, dataclasses.replace(voice.config(), input_name="scripted", speed=3.0)
    )
    hearing = [e.text for e in events if isinstance(e, UserHearing)]
    assert (
        len(hearing) == len(WORDS.split()) and hearing[-1] == WORDS
    )  # word by word, before the turn is heard
    assert [e.text for e in events if isinstance(e, UserSaid)] == [WORDS]
    heard = [r for r in emulator.requests if r.path.endswith("/audio/transcriptions")][-1]
    assert "/deployments/gpt-4o-transcribe/" in heard.path and heard.form["stream"] == "true"
    speech = [r for r in emulator.requests if r.path.endswith("/audio/speech")]
    assert speech and all("/deployments/gpt-4o-mini-tts/" in r.path for r in speech)
    assert {r.json["instructions"] for r in speech} == {"Speak like a calm librarian."}
