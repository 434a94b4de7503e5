"""Images defects of #17: a refusal after a successful image leaves neither the old image (drawn over the lines
below it) nor its revised prompt beside a refusal about another prompt; square gallery images keep their caption;
the DALL-E response format is named in words; the options survive a restart."""

from __future__ import annotations

import pytest

from app.ui.images.gallery import MIN_THUMB
from app.ui.images.tab import ImagesTab
from tests.test_images_tab import choose_dalle, generate


@pytest.fixture
def tab(qtbot, services):
    tab = ImagesTab(services)
    qtbot.addWidget(tab)
    tab.resize(900, 620)
    with qtbot.waitSignal(tab.gallery.loaded, timeout=10000):
        tab.show()
    choose_dalle(tab)  # a revised prompt, a response format: the seed's DALL-E 3
    yield tab
    tab.shutdown()


def test_a_refusal_after_an_image_clears_the_old_image_and_revised_prompt(qtbot, tab):
    generate(qtbot, tab, "a cat")
    assert tab.view.image() is not None and "Revised prompt" in tab.revised.text()
    generate(qtbot, tab, "filter:image something not allowed")
    assert tab.card.isVisible() and tab.card.kind == "refusal"
    assert tab.view.image() is None, "the old image stays next to a refusal about another prompt"
    assert tab.revised.text() == "" and not tab.use_revised.isVisible()
    assert tab.filters_label.text() == ""
    assert not tab.copy_button.isEnabled() and not tab.save_button.isEnabled()
    # Nothing is drawn over the lines below the view.
    qtbot.wait(50)
    assert tab.view.geometry().bottom() <= tab.filters_label.geometry().top()
    pix = tab.view.pixmap()
    assert pix is None or pix.isNull() or pix.height() / pix.devicePixelRatio() <= tab.view.height()


def test_a_square_gallery_image_keeps_its_caption(qtbot, tab):
    generate(qtbot, tab, "a square cat")  # 1024×1024
    gallery = tab.gallery
    index = gallery.model().index(0, 0)
    caption = index.data()
    assert caption
    needed = gallery.sizeHintForIndex(index)
    grid = gallery.gridSize()
    assert needed.height() <= grid.height() and needed.width() <= grid.width(), (needed, grid)
    # The whole row (image and caption) fits in the gallery's first row, at any font size, and that row fits in
    # the view: the thumbnails are as large as its height allows, never smaller than MIN_THUMB.
    for points in (10, 16):
        font = gallery.font()
        font.setPointSize(points)
        gallery.setFont(font)
        qtbot.wait(20)  # the tab's layout gives the view its height for the new font
        line = gallery.fontMetrics().height()
        grid = gallery.gridSize()
        assert grid.height() >= gallery.iconSize().height() + line + 8, (points, grid)
        assert grid.height() <= gallery.viewport().height(), (points, grid, gallery.viewport().size())
        assert gallery.minimumHeight() >= MIN_THUMB + line + 8 + 2 * gallery.frameWidth(), points


def test_the_response_format_is_named_in_words(qtbot, tab):
    combo = tab.options.format_combo
    shown = [combo.itemText(i) for i in range(combo.count())]
    assert "b64_json" not in shown and "url" not in shown
    assert [combo.itemData(i) for i in range(combo.count())] == ["b64_json", "url"]
    label = tab.options._labels[combo].text().replace("&", "")
    assert "Format" not in label


def test_image_options_survive_a_restart(qtbot, services):
    first = ImagesTab(services)
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.gallery.loaded, timeout=10000):
        first.show()
    choose_dalle(first)
    generate(qtbot, first, "a lighthouse", size="1024x1792", quality="hd", style="natural", format="url")
    first.shutdown()
    second = ImagesTab(services)
    qtbot.addWidget(second)
    with qtbot.waitSignal(second.gallery.loaded, timeout=10000):
        second.show()
    options = second.options
    assert options.deployment() == "dall-e-3"  # the deployment chosen, not demo mode's default gpt-image-1
    assert options.size_combo.currentText() == "1024x1792"
    assert options.quality_combo.currentText() == "hd"
    assert options.style_combo.currentText() == "natural"
    assert options.format_combo.currentData() == "url"
    second.shutdown()


def test_options_read_whole_at_800_px(qtbot, tab):
    from PySide6.QtWidgets import QComboBox

    from app.core.capabilities import Family

    tab.resize(780, 500)
    for family in (Family.DALLE, Family.GPT_IMAGE):
        tab.options.family_combo.setCurrentIndex(tab.options.family_combo.findData(family))
        qtbot.wait(20)
        for combo in tab.options.findChildren(QComboBox):
            if combo.isVisible() and combo is not tab.options.deployment_combo:
                assert combo.width() >= combo.sizeHint().width(), (
                    family,
                    combo.accessibleName(),
                    combo.width(),
                )
        assert tab.options.minimumSizeHint().width() <= 780
