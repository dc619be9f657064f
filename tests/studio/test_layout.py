"""Layouts: every graphic box lies inside the frame (and the safe area); boxes that must not collide do not."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from anchor.studio.layout import make_layout
from tests.studio.conftest import fake_anchor, full_compositor

SIZES = [(1280, 720), (1920, 1080), (720, 1280), (1080, 1920), (720, 720), (1080, 1080)]
APART = ["label", "logo", "ticker", "lower_third", "captions", "panel"]


@pytest.mark.parametrize(("w", "h"), SIZES)
def test_boxes_lie_inside_the_frame_and_the_safe_area(w: int, h: int) -> None:
    L = make_layout(w, h)
    for name, box in L.graphic_boxes().items():
        assert box.w > 0 and box.h > 0, name
        if name == "ticker":
            assert box.x == 0 and box.x1 == w and box.y >= 0 and box.y1 <= h
        else:
            assert box.inside(L.safe), f"{name} {box} leaves the safe area {L.safe}"


@pytest.mark.parametrize(("w", "h"), SIZES)
def test_graphics_do_not_overlap_each_other(w: int, h: int) -> None:
    L = make_layout(w, h)
    boxes = L.graphic_boxes()
    for a, b in itertools.combinations(APART, 2):
        assert not boxes[a].intersects(boxes[b]), f"{a} overlaps {b} at {w}x{h}"
    assert boxes["ticker_label"].inside(boxes["ticker"]) and boxes["clock"].inside(boxes["ticker"])


@pytest.mark.parametrize(("w", "h"), SIZES)
def test_rendered_graphics_stay_inside_their_boxes(w: int, h: int) -> None:
    """Every sprite the compositor draws fits its box, so nothing is cut off at the frame edge."""
    comp = full_compositor(w, h, zh=(w == 720))
    comp.set_rest(fake_anchor())
    frame = comp.compose(fake_anchor(), 20)
    assert frame.shape == (h, w, 3)
    L = comp.layout
    expected = {
        "panel": L.panel,
        "captions": L.captions,
        "lower_third": L.lower_third,
        "logo": L.logo,
        "label": L.label,
    }
    drawn = comp._statics  # (sprite, x, y) as composed into the base
    for sprite, x, y in drawn:
        fits = [
            n
            for n, b in list(expected.items()) + [("ticker", L.ticker), ("ticker_label", L.ticker_label)]
            if b.x <= x and b.y <= y and x + sprite.w <= b.x1 and y + sprite.h <= b.y1
        ]
        assert fits, f"sprite at {x},{y} size {sprite.w}x{sprite.h} fits no layout box"
        # and its visible pixels are not clipped by the frame
        assert x >= 0 and y >= 0 and x + sprite.w <= w and y + sprite.h <= h
    # the label's plate is really there on the frame
    lb = L.label
    assert np.mean(frame[lb.y : lb.y1, lb.x : lb.x + 20]) < 120
