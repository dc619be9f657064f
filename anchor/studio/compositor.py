"""The studio compositor: background, anchor, lower-third, ticker, clock, logo, media, captions, cards, AI label.

The same object serves a rendered bulletin and the live channel: `set_rest(anchor_frame)` once,
then `compose(anchor_frame, frame)` per program frame. Everything that moves is scheduled in
program frames (never wall time): `show_lower_third(..., start, end)`, `show_media`, `show_card`,
`set_captions`; the ticker offset and the clock are functions of the frame index.

Cost per frame: graphics are sprites drawn once. The frame is a copy of a cached base (background,
anchor at rest and every graphic that is still at this frame); then only the anchor's dirty
rectangles are re-blended (and any graphic over them), the ticker window is copied from a
pre-rendered strip, and the clock sprite is re-drawn only when its second changes. The base is
rebuilt only when the set of still graphics changes (a caption cue, a strap arriving ...).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import cv2
import numpy as np

from anchor.face.base import AnchorFrame, Rect
from anchor.studio import graphics as g
from anchor.studio.backdrop import studio_backdrop
from anchor.studio.layout import Layout
from anchor.studio.media import VideoLoop
from anchor.studio.sprite import Box, Sprite, blend

ANIM_FRAMES = 10  # lower-third in/out animation length (0.4 s at 25 fps)


@dataclass(frozen=True)
class Placement:
    """How the avatar layer maps into the program frame: scale, then offset (may be negative)."""

    scale: float
    x: int
    y: int


@dataclass
class _Strap:
    sprite: Sprite
    start: int
    end: int | None


@dataclass
class _Media:
    start: int
    end: int | None
    full: bool
    sprite: Sprite | None  # panel frame (with the picture for still images)
    still: np.ndarray | None  # full-frame still
    video: VideoLoop | None


@dataclass
class _Card:
    image: np.ndarray
    start: int
    end: int
    fade: int


def _ease_out(t: float) -> float:
    return 1 - (1 - t) ** 3


class Compositor:
    """Composes program frames for one layout."""

    def __init__(
        self,
        layout: Layout,
        layer_size: tuple[int, int],
        solo: Placement,
        beside_panel: Placement | None = None,
        *,
        background: np.ndarray | VideoLoop | None = None,
        style: g.Style | None = None,
        label: str = "AI-generated",
        fps: int = 25,
    ) -> None:
        self.layout = layout
        self.width, self.height = layout.width, layout.height
        self.style = style or g.Style()
        self.fps = fps
        self.layer_size = layer_size
        self.solo, self.beside = solo, beside_panel or solo
        self.placement = solo  # the shot's current placement
        self._bg_loop = background if isinstance(background, VideoLoop) else None
        self.backdrop = background if isinstance(background, np.ndarray) else studio_backdrop(self.width, self.height)
        self._label = g.label_sprite(layout, label, self.style)
        self._logo: Sprite | None = None
        self._ticker: tuple[Sprite, Sprite, np.ndarray, int] | None = None  # band, label, strip, period
        self._ticker_speed = 90 * layout.unit / fps  # px per frame
        self._clock_start: float | None = None
        self._clock_cache: tuple[str, Sprite] | None = None
        self._straps: list[_Strap] = []
        self._media: list[_Media] = []
        self._cards: list[_Card] = []
        self._cues: list[tuple[int, int, tuple[str, ...]]] = []
        self._cue_sprites: dict[tuple[str, ...], Sprite] = {}
        self._rest: Sprite | None = None
        self._base: np.ndarray | None = None
        self._base_key: object = None
        self._base_of: tuple[object, ...] = ()  # what the key's ids name, kept alive so no id is reused
        self._statics: list[tuple[Sprite, int, int]] = []
        self._frame = 0

    # -- set-up --------------------------------------------------------------------------

    def set_anchor(self, layer_size: tuple[int, int], solo: Placement, beside_panel: Placement | None = None) -> None:
        """Switch to another anchor layer (another avatar); call set_rest with its rest frame next."""
        self.layer_size = layer_size
        self.solo, self.beside = solo, beside_panel or solo
        self._rest = None
        self._base_key = None

    def set_logo(self, channel: str, image: np.ndarray | None = None) -> None:
        """Show the channel bug (a picture, or the channel name on a brand plate)."""
        self._logo = g.logo_sprite(self.layout, channel, self.style, image)
        self._base_key = None

    def set_ticker(self, items: list[str], label: str = "Headlines") -> None:
        """Scroll `items` in the ticker (empty list: no ticker)."""
        if not items:
            self._ticker = None
        else:
            band = g.ticker_band(self.layout, self.style)
            strip, period = g.ticker_strip(self.layout, items, self.style, band)
            self._ticker = (band, g.ticker_label_sprite(self.layout, label, self.style), strip, period)
        self._base_key = None

    def set_clock(self, start: _dt.time | float | None) -> None:
        """Show a clock reading `start` (a time of day, or seconds since midnight) at frame 0, running on program time."""
        if isinstance(start, _dt.time):
            start = start.hour * 3600 + start.minute * 60 + start.second
        self._clock_start = start
        self._base_key = None

    def show_lower_third(
        self, headline: str, subline: str | None = None, tag: str | None = None, *, start: int, end: int | None = None
    ) -> object:
        """The strap animates in at frame `start` and out so that it is gone at `end` (None: stays).

        Returns a handle for `end_lower_third`."""
        strap = _Strap(g.lower_third_sprite(self.layout, headline, subline, tag, self.style), start, end)
        self._straps.append(strap)
        return strap

    def end_lower_third(self, handle: object, at: int) -> None:
        """Make the strap `handle` (from show_lower_third) be gone from frame `at` on, if it would last longer."""
        for strap in self._straps:
            if strap is handle:
                strap.end = at if strap.end is None else min(strap.end, at)
                if strap.end <= strap.start:
                    self._straps.remove(strap)
                self._base_key = None
                return

    def set_captions(self, cues: list[tuple[int, int, tuple[str, ...]]]) -> None:
        """Burned-in captions: (first frame, end frame exclusive, lines) per cue."""
        self._cues = sorted(cues)

    def show_media(
        self, *, start: int, end: int | None, full: bool = False, image: np.ndarray | None = None,
        video: VideoLoop | None = None, credit: str | None = None,
    ) -> None:  # fmt: skip
        """A picture or clip from `start` to `end`: in the panel (the anchor moves beside it) or full-frame."""
        if full:
            still = g.fit_cover(image, self.width, self.height) if image is not None else None
            self._media.append(_Media(start, end, True, None, still, video))
        else:
            self._media.append(
                _Media(start, end, False, g.panel_sprite(self.layout, self.style, credit, image), None, video)
            )

    def show_card(self, image: np.ndarray, *, start: int, end: int, fade: int = 8) -> None:
        """A full-frame card from `start` to `end`, fading out over its last `fade` frames (and in over its first, unless at 0)."""
        self._cards.append(_Card(image, start, end, fade))

    def clear_schedule(self, before: int) -> None:
        """Forget straps, media, cards and cues that ended before frame `before` (for long live runs)."""
        self._straps = [s for s in self._straps if s.end is None or s.end > before]
        self._media = [m for m in self._media if m.end is None or m.end > before]
        self._cards = [c for c in self._cards if c.end > before]
        self._cues = [c for c in self._cues if c[1] > before]

    # -- per frame ----------------------------------------------------------------------

    def set_rest(self, anchor: AnchorFrame) -> None:
        """Take the anchor at rest (composed into the base once; later frames only update dirty rects)."""
        a3 = cv2.merge([anchor.alpha, anchor.alpha, anchor.alpha])
        self._rest = Sprite(cv2.multiply(anchor.image, a3, scale=1 / 255), anchor.alpha.copy(), cv2.bitwise_not(a3))
        self._base_key = None

    def _active(self, items: list, n: int) -> list:
        return [m for m in items if m.start <= n and (m.end is None or n < m.end)]

    def _strap_state(self, n: int) -> tuple[_Strap | None, float]:
        """The strap on air at n and how far in it is (1 = fully in)."""
        for s in reversed(self._straps):
            if s.start <= n and (s.end is None or n < s.end):
                t_in = (n - s.start + 1) / ANIM_FRAMES
                t_out = (s.end - n) / ANIM_FRAMES if s.end is not None else 1.0
                return s, min(1.0, t_in, t_out)
        return None, 0.0

    def _cue(self, n: int) -> tuple[str, ...] | None:
        for a, b, lines in self._cues:
            if a <= n < b:
                return lines
            if a > n:
                break
        return None

    def _clock_sprite(self, n: int) -> Sprite | None:
        if self._clock_start is None:
            return None
        secs = int(self._clock_start + n / self.fps) % 86400
        text = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        if self._clock_cache is None or self._clock_cache[0] != text:
            self._clock_cache = (text, g.clock_sprite(self.layout, text, self.style))
        return self._clock_cache[1]

    def _background_at(self, n: int, media: _Media | None) -> tuple[np.ndarray, object]:
        if media is not None and media.full:
            if media.video is not None:
                img = media.video.frame_at((n - media.start) / self.fps)
                return img, ("fullvideo", id(media), id(img))
            return media.still, ("full", id(media))  # type: ignore[return-value]
        if self._bg_loop is not None:
            img = self._bg_loop.frame_at(n / self.fps)
            return img, ("bgvideo", id(img))
        return self.backdrop, "backdrop"

    def compose(self, anchor: AnchorFrame, frame: int | None = None) -> np.ndarray:
        """A new program frame (H, W, 3) RGB for this anchor frame at program frame `frame` (default: the next one)."""
        n = self._frame if frame is None else frame
        self._frame = n + 1
        if self._rest is None:
            self.set_rest(anchor)
        cards = self._active(self._cards, n)
        card, card_alpha = None, 0.0
        if cards:
            card = cards[-1]
            fade_in = (n - card.start + 1) / card.fade if card.start > 0 else 1.0
            card_alpha = min(1.0, fade_in, (card.end - n) / card.fade)
            if card_alpha >= 1.0:
                out = card.image.copy()
                blend(out, self._label, self.layout.label.x, self.layout.label.y)
                return out

        medias = self._active(self._media, n)
        media = medias[-1] if medias else None
        panel = media if media is not None and not media.full else None
        show_anchor = media is None or not media.full
        placement = self.beside if panel is not None else self.solo
        background, bg_key = self._background_at(n, media)
        strap, strap_in = self._strap_state(n)
        cue = self._cue(n)
        key = (
            bg_key,
            show_anchor,
            placement,
            id(panel),
            id(strap) if strap_in >= 1 else None,
            cue,
            id(self._ticker),
            id(self._logo),
        )
        if key != self._base_key:
            self._rebuild_base(background, show_anchor, placement, panel, strap if strap_in >= 1 else None, cue)
            self._base_key = key
            self._base_of = (background, media, panel, strap, self._ticker, self._logo)
        assert self._base is not None
        out = self._base.copy()
        L = self.layout

        if show_anchor:
            self.placement = placement
            for r in anchor.dirty:
                self._blend_anchor_rect(out, background, anchor, r, placement)
        if panel is not None and panel.video is not None:
            pic = g.panel_video_box(L)
            out[pic.y : pic.y1, pic.x : pic.x1] = panel.video.frame_at((n - panel.start) / self.fps)
        if strap is not None and strap_in < 1:
            self._draw_strap_animating(out, strap, n)
        if self._ticker is not None:
            _, _, strip, period = self._ticker
            o = int(n * self._ticker_speed) % period
            tb = L.ticker_text
            out[tb.y : tb.y1, tb.x : tb.x1] = strip[:, o : o + tb.w]
        clock = self._clock_sprite(n)
        if clock is not None:
            blend(out, clock, L.clock.x, L.clock.y)
        if card is not None and 0 < card_alpha < 1:
            out = cv2.addWeighted(card.image, card_alpha, out, 1 - card_alpha, 0)
            blend(out, self._label, L.label.x, L.label.y)
        return out

    def _rebuild_base(
        self,
        background: np.ndarray,
        show_anchor: bool,
        placement: Placement,
        panel: _Media | None,
        strap: _Strap | None,
        cue: tuple[str, ...] | None,
    ) -> None:
        L = self.layout
        base = background.copy()
        if show_anchor and self._rest is not None:
            blend(base, self._rest, placement.x, placement.y)
        statics: list[tuple[Sprite, int, int]] = []
        if panel is not None and panel.sprite is not None:
            statics.append((panel.sprite, L.panel.x, L.panel.y))
        if cue is not None:
            sprite = self._cue_sprites.get(cue)
            if sprite is None:
                sprite = self._cue_sprites[cue] = g.caption_sprite(L, list(cue))
                if len(self._cue_sprites) > 64:
                    self._cue_sprites.pop(next(iter(self._cue_sprites)))
            statics.append((sprite, L.captions.x, L.captions.y))
        if strap is not None:
            statics.append((strap.sprite, L.lower_third.x, L.lower_third.y))
        if self._ticker is not None:
            band, label, _, _ = self._ticker
            statics += [(band, L.ticker.x, L.ticker.y), (label, L.ticker_label.x, L.ticker_label.y)]
        if self._logo is not None:
            statics.append((self._logo, L.logo.x, L.logo.y))
        statics.append((self._label, L.label.x, L.label.y))
        for sprite, x, y in statics:
            blend(base, sprite, x, y)
        self._statics = statics
        self._base = base

    def _blend_anchor_rect(
        self, out: np.ndarray, background: np.ndarray, anchor: AnchorFrame, r: Rect, p: Placement
    ) -> None:
        """Re-draw layer rect `r` of the anchor (and every still graphic over it) into `out`."""
        lw, lh = self.layer_size
        x0, y0 = max(r.x0, -p.x, 0), max(r.y0, -p.y, 0)
        x1, y1 = min(r.x1, self.width - p.x, lw), min(r.y1, self.height - p.y, lh)
        if x1 <= x0 or y1 <= y0:
            return
        fx, fy = x0 + p.x, y0 + p.y
        dst = out[fy : fy + y1 - y0, fx : fx + x1 - x0]
        a = anchor.alpha[y0:y1, x0:x1]
        a3 = cv2.merge([a, a, a])
        fg = cv2.multiply(anchor.image[y0:y1, x0:x1], a3, scale=1 / 255)
        bg = cv2.multiply(background[fy : fy + y1 - y0, fx : fx + x1 - x0], cv2.bitwise_not(a3), scale=1 / 255)
        dst[:] = cv2.add(fg, bg)
        area = Box(fx, fy, x1 - x0, y1 - y0)
        for sprite, sx, sy in self._statics:
            if area.intersects(Box(sx, sy, sprite.w, sprite.h)):
                blend(out, sprite, sx, sy, clip=area)

    def _draw_strap_animating(self, out: np.ndarray, strap: _Strap, n: int) -> None:
        """In: a wipe from the left with an eased edge. Out: the same wipe backwards, fading."""
        L = self.layout
        box = L.lower_third
        end = strap.end
        going_out = end is not None and end - n <= ANIM_FRAMES and (n - strap.start + 1) >= ANIM_FRAMES
        t = (end - n) / ANIM_FRAMES if end is not None and going_out else (n - strap.start + 1) / ANIM_FRAMES
        t = max(0.0, min(1.0, t))
        reveal = max(1, round(_ease_out(t) * box.w))
        sprite = strap.sprite.faded(0.35 + 0.65 * t) if going_out else strap.sprite
        blend(out, sprite, box.x, box.y, clip=Box(box.x, box.y, reveal, box.h))
