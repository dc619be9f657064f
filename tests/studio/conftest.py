"""A compositor with every graphic on, fed by a synthetic anchor layer (no face renderer needed)."""

from __future__ import annotations

import datetime

import cv2
import numpy as np

from anchor.face.base import Rect
from anchor.face.renderer import AnchorFrame
from anchor.studio.compositor import Compositor, Placement
from anchor.studio.layout import make_layout

MOUTH = Rect(90, 150, 150, 180)


def fake_anchor(size: tuple[int, int] = (240, 300), mouth_open: float = 0.0) -> AnchorFrame:
    """A head-and-shoulders silhouette; the mouth rect is the only dirty region."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    cv2.ellipse(alpha, (w // 2, 110), (60, 80), 0, 0, 360, 255, -1)
    cv2.ellipse(alpha, (w // 2, h), (115, 100), 0, 180, 360, 255, -1)
    img[:] = (40, 40, 60)
    cv2.ellipse(img, (w // 2, 110), (60, 80), 0, 0, 360, (220, 180, 150), -1)
    cv2.ellipse(img, (w // 2, 165), (22, 2 + int(10 * mouth_open)), 0, 0, 360, (90, 20, 30), -1)
    return AnchorFrame(img, alpha, (MOUTH,))


def full_compositor(width: int, height: int, zh: bool = False, media: bool = True) -> Compositor:
    layout = make_layout(width, height)
    s = height / 720 if width >= height else width / 720
    solo = Placement(1.0, width // 2 - 120, height - 300)
    beside = Placement(1.0, int(width * 0.27) - 120, height - 300) if layout.aspect != "9:16" else solo
    comp = Compositor(layout, (240, 300), solo, beside, label="AI生成" if zh else "AI-generated")
    comp.set_logo("锚点新闻" if zh else "Anchor News")
    comp.set_ticker(
        ["市政府批准新建大桥", "股市收涨"] if zh else ["Council approves new bridge", "Markets close higher"],
        "要闻" if zh else "Headlines",
    )
    comp.set_clock(datetime.time(18, 0, 0))
    comp.show_lower_third(
        "市政府批准在河上新建一座大桥" if zh else "Council approves first new bridge in fifty years",
        "工程将于春季开工" if zh else "Work begins in the spring",
        "晚间新闻" if zh else "Evening News",
        start=0,
        end=1000,
    )
    comp.set_captions(
        [
            (
                0,
                1000,
                ("市政府昨晚投票决定", "在河上新建一座大桥。")
                if zh
                else ("The city council voted last night", "to build a new bridge."),
            )
        ]
    )
    if media:
        yy, xx = np.mgrid[0:180, 0:320]
        picture = np.dstack([xx * 255 // 320, yy * 255 // 180, np.full_like(xx, 128)]).astype(np.uint8)
        comp.show_media(start=0, end=1000, image=picture, credit="Photo: test pattern")
    del s
    return comp
