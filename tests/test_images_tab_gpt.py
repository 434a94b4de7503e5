"""The Images tab with the gpt-image family against the emulator: only the options the family takes, no WebP and no
transparent JPEG, what goes on the wire, image token usage, remembered options, and a mask edit end to end."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPointF, Qt

from app.core import image_options
from app.core.capabilities import Family
from app.ui.images.tab import ImagesTab

SHOTS = os.environ.get("PARLEY_SHOTS")  # a folder: the test also saves screenshots there


@pytest.fixture
def tab(qtbot, services):
    tab = ImagesTab(services)
    qtbot.addWidget(tab)
    tab.resize(1100, 760)
    with qtbot.waitSignal(tab.gallery.loaded, timeout=10000):
        tab.show()
    yield tab
    tab.shutdown()


def choose_deployment(tab, name):
    tab.options.deployment_combo.setCurrentText(name)


def run(qtbot, tab, click):
    previous = tab._job.job
    click()
    qtbot.waitUntil(lambda: tab._job.job is not previous and tab._job.job.result is not None, timeout=30000)
    qtbot.waitUntil(lambda: tab.generate_button.text() == "&Generate", timeout=5000)


def items(combo):
    return [combo.itemText(i) for i in range(combo.count())]


def shot(widget, name):
    if SHOTS:
        widget.grab().save(os.path.join(SHOTS, name))


def test_each_family_offers_only_its_options(tab):
    assert tab.options.deployment() == "gpt-image-1"  # the demo profile's
    assert tab.options.family is Family.GPT_IMAGE
    assert items(tab.size_combo) == ["1024x1024", "1536x1024", "1024x1536", "auto"]
    assert items(tab.quality_combo) == ["low", "medium", "high", "auto"]
    assert not tab.style_combo.isVisibleTo(tab) and not tab.format_combo.isVisibleTo(tab)
    assert tab.background_combo.isVisibleTo(tab) and tab.options.n_spin.isVisibleTo(tab)
    assert items(tab.output_format_combo) == ["PNG", "JPEG"]  # never WebP
    assert tab.edit_file_button.isVisibleTo(tab)
    choose_deployment(tab, "dall-e-3")  # the seed's, which the emulator still serves
    assert tab.options.family is Family.DALLE
    assert items(tab.size_combo) == list(image_options.DALLE_SIZES)
    assert items(tab.quality_combo) == ["standard", "hd"]
    assert tab.style_combo.isVisibleTo(tab) and not tab.background_combo.isVisibleTo(tab)
    assert not tab.edit_file_button.isVisibleTo(tab)  # DALL-E cannot edit
    shot(tab, "images-dalle.png")


def test_no_transparent_jpeg_and_compression_only_for_jpeg(tab):
    choose_deployment(tab, "gpt-image-1-mini")
    fmt, background = tab.output_format_combo, tab.background_combo
    background.setCurrentText("transparent")
    assert not fmt.model().item(fmt.findData("jpeg")).isEnabled()
    assert not tab.options.compression_spin.isVisibleTo(tab)  # PNG: no compression to choose
    background.setCurrentText("opaque")
    fmt.setCurrentIndex(fmt.findData("jpeg"))
    assert not background.model().item(background.findText("transparent")).isEnabled()
    assert tab.options.compression_spin.isVisibleTo(tab)


def test_gpt_image_generation_on_the_wire_with_usage_shown(qtbot, tab, services):
    choose_deployment(tab, "gpt-image-1")
    tab.size_combo.setCurrentText("1536x1024")
    tab.quality_combo.setCurrentText("low")
    tab.output_format_combo.setCurrentIndex(tab.output_format_combo.findData("jpeg"))
    tab.options.compression_spin.setValue(30)
    tab.options.n_spin.setValue(2)
    tab.prompt.setPlainText("A lighthouse at dusk")
    run(qtbot, tab, lambda: qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton))
    sent = services.connection.emulator.requests[-1]
    assert sent.path == "/openai/deployments/gpt-image-1/images/generations"
    assert sent.json == {
        "model": "gpt-image-1", "prompt": "A lighthouse at dusk", "n": 2, "size": "1536x1024", "quality": "low",
        "background": "auto", "output_format": "jpeg", "output_compression": 30,
    }  # fmt: skip
    records = tab.gallery.records()
    assert len(records) == 2 and {r.format for r in records} == {"jpeg"}
    assert all(r.path.endswith(".jpg") for r in records)
    assert "800 out" in tab.usage_label.text()  # 2 images × 400 tokens
    assert tab.view.image() is not None and tab.view.image().width() == 1536
    shot(tab, "images-gpt-image.png")


def test_options_are_remembered_per_family(qtbot, services):
    first = ImagesTab(services)
    qtbot.addWidget(first)
    choose_deployment(first, "gpt-image-1")
    first.quality_combo.setCurrentText("medium")
    first.background_combo.setCurrentText("opaque")
    first.options.remember()
    first.shutdown()
    second = ImagesTab(services)
    qtbot.addWidget(second)
    assert second.options.deployment() == "gpt-image-1"
    assert (
        second.quality_combo.currentText() == "medium" and second.background_combo.currentText() == "opaque"
    )
    second.shutdown()


def test_mask_edit_end_to_end(qtbot, tab, services):
    choose_deployment(tab, "gpt-image-1")
    tab.prompt.setPlainText("A cat on a sofa")
    run(qtbot, tab, lambda: qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton))
    source = tab.current
    assert tab.edit_button.isEnabled()
    dialog = tab.open_editor(source.path, tab.view.image(), source.id, source.prompt)
    qtbot.waitExposed(dialog)
    editor = dialog.editor
    editor.stroke([QPointF(300, 300), QPointF(700, 420)])
    editor.set_eraser(True)
    editor.stroke([QPointF(300, 300), QPointF(340, 300)])
    editor.set_eraser(False)
    editor.stroke([QPointF(100, 900), QPointF(200, 900)])
    editor.undo()  # the last stroke is gone
    assert editor.can_undo() and editor.painted()
    mask = editor.mask_image()
    assert (mask.width(), mask.height()) == (1024, 1024)
    assert mask.pixelColor(500, 360).alpha() == 0  # painted: to be repainted
    assert mask.pixelColor(150, 900).alpha() == 255  # undone stroke: kept
    assert mask.pixelColor(305, 300).alpha() == 255  # erased: kept
    dialog.prompt_edit.setPlainText("Give the cat a red hat")
    shot(dialog, "images-mask-edit.png")
    run(qtbot, tab, lambda: qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton))
    sent = services.connection.emulator.requests[-1]
    assert sent.path == "/openai/deployments/gpt-image-1/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert sent.form["prompt"] == "Give the cat a red hat" and sent.form["model"] == "gpt-image-1"
    assert set(sent.files) == {"image", "mask"} and sent.files["image"][0].endswith(".png")
    edited = tab.current
    assert edited.id != source.id and edited.parent_id == source.id
    assert "edited from image" in tab.usage_label.text() and "image)" in tab.usage_label.text()
    assert [r.id for r in tab.gallery.records()][:2] == [edited.id, source.id]


def test_a_family_set_wrongly_gets_azures_400_with_words_naming_the_family(qtbot, tab, services):
    choose_deployment(tab, "gpt-image-1")
    tab.options.family_combo.setCurrentIndex(tab.options.family_combo.findData(Family.DALLE))
    assert tab.style_combo.isVisibleTo(tab)  # the user says it is DALL-E: DALL-E's options
    tab.prompt.setPlainText("a fox")
    run(qtbot, tab, lambda: qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton))
    sent = services.connection.emulator.requests[-1].json
    assert sent["response_format"] == "b64_json"  # shaped for DALL-E, as chosen
    text = tab.card.plain_text()
    assert "Wrong image model family" in text and "GPT-image" in text


def test_the_family_decides_before_sending(qtbot, tab, services):
    choose_deployment(tab, "gpt-image-1")
    services.connection.emulator.clear()
    tab.background_combo.setCurrentText("transparent")
    tab.options.n_spin.setValue(11)  # the spin box stops at the family's limit
    assert tab.options.n_spin.value() == image_options.GPT_MAX_N
