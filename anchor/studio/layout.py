"""Layouts: where every graphic and the anchor go, for 16:9, 9:16 and 1:1 at any size.

All boxes lie inside the graphics-safe area (5 % in from each edge), except the ticker band,
which runs edge to edge (its label, text and clock stay inside the safe area). Sizes scale with
`unit` = shorter side / 720, so 720p and 1080p look the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from anchor.studio.sprite import Box

SAFE_SHARE = 0.05


@dataclass(frozen=True)
class AnchorSpot:
    """Where the anchor's face goes: centre (share of width/height) and face height (share of height)."""

    cx: float
    cy: float


@dataclass(frozen=True)
class Layout:
    """Boxes of one picture format."""

    width: int
    height: int
    aspect: str
    unit: float
    safe: Box
    label: Box
    logo: Box
    ticker: Box  # the band, edge to edge
    ticker_label: Box
    ticker_text: Box  # where ticker text scrolls (inside the safe area)
    clock: Box
    lower_third: Box
    headline_lines: int
    captions: Box
    panel: Box  # media panel (with its credit line under it)
    face_share: float
    solo: AnchorSpot
    beside_panel: AnchorSpot

    def px(self, v: float) -> int:
        """`v` design pixels (at 720) in this layout's pixels."""
        return max(1, round(v * self.unit))

    def graphic_boxes(self) -> dict[str, Box]:
        """Every box a graphic is drawn in (the test checks none is cut off)."""
        return {
            "label": self.label, "logo": self.logo, "ticker": self.ticker, "ticker_label": self.ticker_label,
            "ticker_text": self.ticker_text, "clock": self.clock, "lower_third": self.lower_third,
            "captions": self.captions, "panel": self.panel,
        }  # fmt: skip


def aspect_of(width: int, height: int) -> str:
    r = width / height
    return "16:9" if r > 1.3 else "9:16" if r < 0.77 else "1:1"


def make_layout(width: int, height: int) -> Layout:
    """The layout for a frame size (aspect picked from the size)."""
    aspect = aspect_of(width, height)
    u = min(width, height) / 720
    mx, my = round(SAFE_SHARE * width), round(SAFE_SHARE * height)
    safe = Box(mx, my, width - 2 * mx, height - 2 * my)

    def p(v: float) -> int:
        return max(1, round(v * u))

    label = Box(safe.x, safe.y, p(150), p(30))
    logo = Box(safe.x1 - p(170), safe.y, p(170), p(54))
    th = p(42)
    bottom_gap = {"16:9": my, "9:16": round(0.085 * height), "1:1": my}[aspect]
    ticker = Box(0, height - bottom_gap - th, width, th)
    tl_w = p(130) if aspect != "9:16" else p(104)
    ticker_label = Box(safe.x, ticker.y, tl_w, th)
    clock = Box(safe.x1 - p(112), ticker.y, p(112), th)
    ticker_text = Box(ticker_label.x1, ticker.y, clock.x - ticker_label.x1, th)

    headline_lines = 1
    lt_h = p(30) + p(50) * headline_lines + p(32)
    lt_w = {"16:9": round(0.66 * width), "9:16": safe.w, "1:1": round(0.86 * width)}[aspect]
    lower_third = Box(safe.x, ticker.y - p(16) - lt_h, lt_w, lt_h)

    cap_h = p(96)
    cap_w = {"16:9": round(0.70 * width), "9:16": safe.w, "1:1": safe.w}[aspect]
    captions = Box((width - cap_w) // 2, lower_third.y - p(14) - cap_h, cap_w, cap_h)

    credit = p(26)
    if aspect == "16:9":
        top = logo.y1 + p(16)
        room = captions.y - p(10) - top - credit  # the picture ends above the captions
        pw = min(safe.x1 - round(0.50 * width), room * 16 // 9)
        panel = Box(safe.x1 - pw, top, pw, round(pw * 9 / 16) + credit)
        face, solo, beside = 0.33, AnchorSpot(0.5, 0.40), AnchorSpot(0.27, 0.40)
    elif aspect == "9:16":
        # Vertical: picture on top, the anchor low in the frame (its body reaches the bottom edge).
        pw = safe.w
        panel = Box(safe.x, logo.y1 + p(24), pw, round(pw * 9 / 16) + credit)
        face, solo, beside = 0.20, AnchorSpot(0.5, 0.62), AnchorSpot(0.5, 0.62)
    else:
        pw = safe.x1 - round(0.50 * width)
        panel = Box(safe.x1 - pw, logo.y1 + p(40), pw, round(pw * 9 / 16) + credit)
        face, solo, beside = 0.29, AnchorSpot(0.5, 0.36), AnchorSpot(0.27, 0.38)
    return Layout(
        width, height, aspect, u, safe, label, logo, ticker, ticker_label, ticker_text, clock,
        lower_third, headline_lines, captions, panel, face, solo, beside,
    )  # fmt: skip
