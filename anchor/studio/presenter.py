"""The presenter shot: the anchor framed like a news presenter, placed by the layout.

`PresenterShot` is the studio compositor with no graphics but the AI label (what `anchor say`
and the live channel show unless given more); `anchor_placements` frames the avatar for a layout.
"""

from __future__ import annotations

import numpy as np

from anchor.face.avatar import AvatarPack
from anchor.studio.backdrop import studio_backdrop
from anchor.studio.compositor import Compositor, Placement
from anchor.studio.fonts import font_path, has_cjk
from anchor.studio.layout import AnchorSpot, Layout, make_layout

__all__ = ["Placement", "PresenterShot", "anchor_placements", "presenter_placement", "studio_backdrop"]

FACE_HEIGHT_SHARE = 0.33  # face (forehead to chin) as a share of the frame height
FACE_CENTRE_Y = 0.40  # where the face centre sits, as a share of the frame height
MAX_CLOSE_UP = 1.5  # a recording cut at the chest may be shown up to this much closer


def _place(avatar: AvatarPack, width: int, height: int, face_share: float, spot: AnchorSpot) -> Placement:
    lm = avatar.landmarks
    face_h = float(lm[152, 1] - lm[10, 1])
    img_h = avatar.image.shape[0]
    face_cy = float(lm[:, 1].mean())
    scale = face_share * height / face_h
    # A picture cut close under the chin (a webcam-style recording) would leave the body floating:
    # show it as a closer shot first (up to MAX_CLOSE_UP), then lower it as far as still needed.
    below = img_h - face_cy  # pack pixels from the face centre to the picture's bottom edge
    if below > 0 and spot.cy * height + below * scale < height:
        scale = min(scale * MAX_CLOSE_UP, (1 - spot.cy) * height / below)
    cx, cy = float(lm[:, 0].mean()) * scale, face_cy * scale
    x = round(spot.cx * width - cx)
    y = round(spot.cy * height - cy)
    bottom = y + img_h * scale
    if bottom < height:  # never leave the body floating above the bottom edge
        y += int(np.ceil(height - bottom))
    return Placement(scale, x, y)


def presenter_placement(avatar: AvatarPack, width: int, height: int) -> Placement:
    """Scale and position that frame the avatar's head and shoulders like a presenter (centred)."""
    return _place(avatar, width, height, FACE_HEIGHT_SHARE, AnchorSpot(0.5, FACE_CENTRE_Y))


def anchor_placements(avatar: AvatarPack, layout: Layout) -> tuple[Placement, Placement]:
    """(solo, beside the media panel) placements for `layout`, at one scale so one face renderer serves both."""
    solo = _place(avatar, layout.width, layout.height, layout.face_share, layout.solo)
    beside = _place(avatar, layout.width, layout.height, layout.face_share, layout.beside_panel)
    return solo, Placement(solo.scale, beside.x, beside.y)


class PresenterShot(Compositor):
    """Studio backdrop + anchor placed by `placement` + the AI label; add graphics with the Compositor methods."""

    def __init__(
        self,
        width: int,
        height: int,
        placement: Placement,
        layer_size: tuple[int, int],
        label: str = "AI-generated",
        fps: int = 25,
        background: np.ndarray | None = None,
    ) -> None:
        label = label if not has_cjk(label) or font_path(cjk=True) else "AI-generated"
        super().__init__(make_layout(width, height), layer_size, placement, label=label, fps=fps, background=background)
