"""The compositor: golden images within a perceptual tolerance, frame-driven animation, dirty-rect updates,
the AI label from the first frame, real Chinese glyphs."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from anchor.studio.compositor import ANIM_FRAMES, Placement
from anchor.studio.presenter import PresenterShot
from anchor.studio.text import broadcast_font, wrap_text
from tests.studio.conftest import MOUTH, fake_anchor, full_compositor

GOLDEN = Path(__file__).parent / "golden"
CASES = {"landscape_en": (640, 360, False), "portrait_zh": (360, 640, True), "square_en": (480, 480, False)}


UPDATE = "ANCHOR_UPDATE_GOLDEN"


def _check_golden(name: str, frame: np.ndarray) -> None:
    """Compare with the reviewed reference in golden/. `ANCHOR_UPDATE_GOLDEN=1 pytest tests/studio`
    rewrites the references and FAILS (so a run with it set never passes): look at the new PNGs,
    then commit them and run again without the variable."""
    path = GOLDEN / f"{name}.png"
    if os.environ.get(UPDATE):
        GOLDEN.mkdir(exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        pytest.fail(f"{UPDATE} is set: wrote {path}; review it, commit it, run again without {UPDATE}", pytrace=False)
    assert path.is_file(), f"no golden image {path}: make it with {UPDATE}=1, review it and commit it"
    golden = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert golden.shape == frame.shape
    ssim = structural_similarity(golden, frame, channel_axis=2)
    mad = float(np.abs(golden.astype(np.int16) - frame).mean())
    assert ssim >= 0.97 and mad <= 2.0, (
        f"{name}: SSIM {ssim:.3f}, mean abs diff {mad:.2f} (after a deliberate change: {UPDATE}=1, review, commit)"
    )


@pytest.mark.parametrize("name", list(CASES))
def test_compositor_matches_golden_image(name: str) -> None:
    w, h, zh = CASES[name]
    comp = full_compositor(w, h, zh=zh)
    comp.set_rest(fake_anchor())
    _check_golden(name, comp.compose(fake_anchor(mouth_open=0.8), 40))


def test_ai_label_is_on_the_first_frame_even_under_a_card() -> None:
    comp = full_compositor(640, 360)
    comp.show_card(np.full((360, 640, 3), 200, np.uint8), start=0, end=50)
    comp.set_rest(fake_anchor())
    first = comp.compose(fake_anchor(), 0)
    lb = comp.layout.label
    plate = first[lb.y : lb.y1, lb.x : lb.x1]
    assert plate.mean() < 150, "dark label plate over the light card"
    assert (plate.max(axis=2) > 230).sum() > 20, "white label text"


def test_only_the_anchor_dirty_rect_and_moving_graphics_change_between_frames() -> None:
    comp = full_compositor(640, 360, media=False)
    comp.set_rest(fake_anchor())
    a = comp.compose(fake_anchor(mouth_open=0.0), 30)
    b = comp.compose(fake_anchor(mouth_open=1.0), 31)
    changed = np.any(a != b, axis=2)
    L = comp.layout
    p = comp.solo
    mouth = np.zeros_like(changed)
    mouth[MOUTH.y0 + p.y : MOUTH.y1 + p.y, MOUTH.x0 + p.x : MOUTH.x1 + p.x] = True
    ticker = np.zeros_like(changed)
    ticker[L.ticker.y : L.ticker.y1, :] = True
    assert changed[mouth].any(), "the mouth moved"
    assert changed[ticker].any(), "the ticker scrolled"
    assert not changed[~(mouth | ticker)].any(), "nothing else changed"


def test_animation_and_clock_are_driven_by_the_frame_index_not_wall_time() -> None:
    c1, c2 = full_compositor(640, 360), full_compositor(640, 360)
    for c in (c1, c2):
        c.set_rest(fake_anchor())
    assert np.array_equal(c1.compose(fake_anchor(), 77), c2.compose(fake_anchor(), 77))
    # The clock reads 18:00:00 + 75 frames / 25 fps = 18:00:03 and changes only when the second does.
    c1.compose(fake_anchor(), 75)
    assert c1._clock_cache[0] == "18:00:03"
    s1 = c1._clock_cache[1]
    c1.compose(fake_anchor(), 76)
    assert c1._clock_cache[1] is s1


def test_lower_third_wipes_in_and_out() -> None:
    comp = full_compositor(640, 360, media=False)
    comp._straps.clear()
    comp.show_lower_third("Headline", None, None, start=10, end=60)
    comp.set_rest(fake_anchor())
    L = comp.layout.lower_third

    def area(f):
        return f[L.y : L.y1, L.x : L.x1]

    before = comp.compose(fake_anchor(), 5)
    half = comp.compose(fake_anchor(), 10 + ANIM_FRAMES // 2)
    full = comp.compose(fake_anchor(), 30)
    after = comp.compose(fake_anchor(), 61)

    def diff(x, y):
        return np.any(area(x) != area(y), axis=2).mean()

    assert diff(before, after) < 0.02 < diff(before, half) < diff(before, full)


def test_chinese_text_renders_real_glyphs_not_boxes() -> None:
    font = broadcast_font(48)

    def draw(t: str) -> np.ndarray:
        from PIL import Image, ImageDraw

        img = Image.new("L", (80, 80), 0)
        ImageDraw.Draw(img).text((10, 5), t, font=font, fill=255)
        return np.asarray(img) > 128

    tofu = draw("\U000e0100\U0010fffd")  # code points no font has a glyph for
    glyphs = [draw(c) for c in "新闻桥"]
    for g in glyphs:
        assert g.sum() > 100 and not np.array_equal(g, tofu)
    assert not np.array_equal(glyphs[0], glyphs[1])


def test_line_breaking_latin_keeps_words_chinese_respects_punctuation() -> None:
    font = broadcast_font(20)
    lines = wrap_text("The city council voted last night to build a new bridge across the river.", font, 200)
    assert (
        len(lines) > 1
        and " ".join(lines) == "The city council voted last night to build a new bridge across the river."
    )
    zh = wrap_text("市政府昨晚投票决定在河上新建一座大桥，这是近五十年来的第一座新桥。", font, 150)
    assert "".join(zh) == "市政府昨晚投票决定在河上新建一座大桥，这是近五十年来的第一座新桥。"
    assert all(not ln.startswith(("，", "。")) for ln in zh)


def test_presenter_shot_keeps_its_old_interface() -> None:
    x, y = 200, 60
    shot = PresenterShot(640, 360, Placement(1.0, x, y), (240, 300))
    shot.set_rest(fake_anchor())
    speaking = shot.compose(fake_anchor(mouth_open=1.0))
    still = shot.compose(fake_anchor())
    assert speaking.shape == still.shape == (360, 640, 3)
    # the anchor layer is drawn at the placement: its face colour at the face centre, backdrop beside it
    assert np.abs(still[y + 110, x + 120].astype(int) - (220, 180, 150)).max() <= 3
    assert np.abs(still[y + 110, x + 10].astype(int) - (220, 180, 150)).max() > 40
    # and only the mouth changes between an open and a closed mouth, inside the layer's mouth rect
    rows, cols = np.nonzero(np.any(speaking != still, axis=2))
    assert rows.size > 100
    assert MOUTH.y0 + y <= rows.min() and rows.max() < MOUTH.y1 + y
    assert MOUTH.x0 + x <= cols.min() and cols.max() < MOUTH.x1 + x
