"""Broadcast graphics drawn once into sprites: AI label, logo bug, lower-third strap, ticker strip,
clock, captions, media panel frame, intro/outro cards.

Flat, sharp-edged plates in the brand colours with Noto Sans CJK text; every function draws
inside the layout box it is given and never beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from anchor.studio.layout import Layout
from anchor.studio.sprite import Box, Sprite
from anchor.studio.text import broadcast_font, fit_text, text_width

RGB = tuple[int, int, int]


def hex_rgb(h: str) -> RGB:
    h = h.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@dataclass(frozen=True)
class Style:
    """Colours of the graphics."""

    primary: RGB = (200, 16, 46)
    secondary: RGB = (11, 31, 58)
    text: RGB = (255, 255, 255)
    headline_plate: RGB = (255, 255, 255)
    headline_text: RGB = (11, 31, 58)


def _canvas(w: int, h: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (max(1, w), max(1, h)), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _text_y(font, text: str, top: int, height: int) -> int:
    """y that centres the text's ink-independent line box (ascent + descent) vertically in [top, top + height)."""
    ascent, descent = font.getmetrics()
    return top + (height - (ascent + descent)) // 2 + round(0.06 * (ascent + descent))


def _shade(c: RGB, k: float) -> RGB:
    return tuple(int(max(0, min(255, v * k))) for v in c)  # type: ignore[return-value]


def _vgradient(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], top: RGB, bottom: RGB, alpha: int = 255
) -> None:
    x0, y0, x1, y1 = box
    n = max(1, y1 - y0)
    for i in range(n):
        t = i / max(1, n - 1)
        c = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom))
        draw.line([(x0, y0 + i), (x1 - 1, y0 + i)], fill=(*c, alpha))


def label_sprite(layout: Layout, text: str, style: Style) -> Sprite:
    """The AI-generated disclosure label: a dark translucent plate with a brand-coloured marker."""
    box = layout.label
    size = layout.px(15)
    lines, font = fit_text(text, box.w - layout.px(30), 1, size, layout.px(10))
    tw = text_width(lines[0], font)
    w = min(box.w, round(tw) + layout.px(30))
    img, d = _canvas(w, box.h)
    d.rectangle([0, 0, w - 1, box.h - 1], fill=(8, 10, 16, 190))
    d.rectangle([0, 0, layout.px(5) - 1, box.h - 1], fill=(*style.primary, 255))
    d.text((layout.px(16), _text_y(font, lines[0], 0, box.h)), lines[0], font=font, fill=(255, 255, 255, 255))
    return Sprite.from_rgba(img)


def logo_sprite(layout: Layout, channel: str, style: Style, image: np.ndarray | None = None) -> Sprite:
    """The channel bug, right-aligned in the logo box: the logo picture fitted, or the channel name on a brand plate."""
    box = layout.logo
    if image is not None:
        rgba = image if image.shape[2] == 4 else np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
        s = min(box.w / rgba.shape[1], box.h / rgba.shape[0])
        size = (max(1, int(rgba.shape[1] * s)), max(1, int(rgba.shape[0] * s)))
        fitted = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA)
        canvas = np.zeros((box.h, box.w, 4), np.uint8)
        canvas[(box.h - size[1]) // 2 : (box.h - size[1]) // 2 + size[1], box.w - size[0] :] = fitted
        return Sprite.from_rgba(canvas)
    h = layout.px(40)
    lines, font = fit_text(channel.upper(), box.w - layout.px(28), 1, layout.px(21), layout.px(12))
    tw = round(text_width(lines[0], font))
    w = min(box.w, tw + layout.px(28))
    img, d = _canvas(box.w, box.h)
    x0 = box.w - w
    _vgradient(d, (x0, 0, box.w, h), _shade(style.primary, 1.15), _shade(style.primary, 0.8))
    d.rectangle([x0, h, box.w - 1, h + layout.px(3) - 1], fill=(255, 255, 255, 235))
    d.text((x0 + layout.px(14), _text_y(font, lines[0], 0, h)), lines[0], font=font, fill=(*style.text, 255))
    return Sprite.from_rgba(img)


def lower_third_sprite(layout: Layout, headline: str, subline: str | None, tag: str | None, style: Style) -> Sprite:
    """The name strap: brand tag row, white headline plate with an accent bar, dark subline plate."""
    box = layout.lower_third
    tag_h, head_h, sub_h = layout.px(30), layout.px(50) * layout.headline_lines, layout.px(32)
    bar = layout.px(8)
    pad = layout.px(18)
    img, d = _canvas(box.w, box.h)
    y = 0
    if tag:
        lines, font = fit_text(tag.upper(), box.w * 0.6, 1, layout.px(16), layout.px(11))
        tw = round(text_width(lines[0], font)) + 2 * layout.px(12)
        d.rectangle([0, 0, tw - 1, tag_h - 1], fill=(*style.primary, 255))
        d.text((layout.px(12), _text_y(font, lines[0], 0, tag_h)), lines[0], font=font, fill=(*style.text, 255))
    y = tag_h
    # Headline plate: solid, with a faint vertical shade so it reads as a surface.
    _vgradient(d, (0, y, box.w, y + head_h), style.headline_plate, _shade(style.headline_plate, 0.9))
    d.rectangle([0, y, bar - 1, y + head_h - 1], fill=(*style.primary, 255))
    lines, font = fit_text(headline, box.w - bar - 2 * pad, layout.headline_lines, layout.px(31), layout.px(18))
    line_h = head_h // layout.headline_lines
    top = y + (head_h - line_h * len(lines)) // 2
    for i, ln in enumerate(lines):
        d.text(
            (bar + pad, _text_y(font, ln, top + i * line_h, line_h)), ln, font=font, fill=(*style.headline_text, 255)
        )
    y += head_h
    if subline:
        lines, font = fit_text(subline, box.w - bar - 2 * pad, 1, layout.px(18), layout.px(12), weight="regular")
        sub_w = min(box.w, round(text_width(lines[0], font)) + bar + 2 * pad)
        d.rectangle([0, y, sub_w - 1, y + sub_h - 1], fill=(*style.secondary, 240))
        d.rectangle([0, y, bar - 1, y + sub_h - 1], fill=(*_shade(style.primary, 0.7), 255))
        d.text((bar + pad, _text_y(font, lines[0], y, sub_h)), lines[0], font=font, fill=(*style.text, 255))
    return Sprite.from_rgba(img)


def ticker_band(layout: Layout, style: Style) -> Sprite:
    """The ticker's opaque band, edge to edge, with a brand line on top."""
    box = layout.ticker
    img, d = _canvas(box.w, box.h)
    _vgradient(d, (0, 0, box.w, box.h), _shade(style.secondary, 1.35), _shade(style.secondary, 0.85))
    d.rectangle([0, 0, box.w - 1, layout.px(2) - 1], fill=(*style.primary, 255))
    return Sprite.from_rgba(img)


def ticker_strip(layout: Layout, items: list[str], style: Style, band: Sprite) -> tuple[np.ndarray, int]:
    """The ticker text drawn once over the band: an opaque RGB strip to slide a window over.

    Returns (strip, period): the strip repeats after `period` pixels and is `period + window` wide,
    so any window [o, o + window) with 0 <= o < period is one slice.
    """
    win = layout.ticker_text.w
    h = layout.ticker.h
    font = broadcast_font(layout.px(19), "bold")
    gap = layout.px(22)
    sep = layout.px(7)
    pieces = [" ".join(t.split()) for t in items if t.strip()] or [" "]
    widths = [round(text_width(p, font)) for p in pieces]
    period = max(win, sum(widths) + len(pieces) * (2 * gap + sep))
    total = period + win
    bg = band.rgb[:, :1].repeat(total, axis=1)  # the band's vertical gradient, any width
    img = Image.fromarray(np.ascontiguousarray(bg)).convert("RGBA")
    d = ImageDraw.Draw(img)
    x = 0
    ty = _text_y(font, "Ag", layout.px(2), h - layout.px(2))
    while x < total:
        for p, w in zip(pieces, widths):
            cy = h // 2 + layout.px(1)
            d.rectangle(
                [x + gap, cy - sep // 2, x + gap + sep - 1, cy - sep // 2 + sep - 1], fill=(*style.primary, 255)
            )
            d.text((x + 2 * gap + sep, ty), p, font=font, fill=(*style.text, 255))
            x += w + 2 * gap + sep
            if x >= total:
                break
        if x < period:  # short items: pad to the period
            x = period
    return np.ascontiguousarray(np.asarray(img)[..., :3]), period


def ticker_label_sprite(layout: Layout, text: str, style: Style) -> Sprite:
    box = layout.ticker_label
    img, d = _canvas(box.w, box.h)
    _vgradient(d, (0, 0, box.w, box.h), _shade(style.primary, 1.1), _shade(style.primary, 0.82))
    lines, font = fit_text(text.upper(), box.w - layout.px(16), 1, layout.px(17), layout.px(10))
    tw = text_width(lines[0], font)
    d.text(((box.w - tw) / 2, _text_y(font, lines[0], 0, box.h)), lines[0], font=font, fill=(*style.text, 255))
    return Sprite.from_rgba(img)


def clock_sprite(layout: Layout, text: str, style: Style) -> Sprite:
    box = layout.clock
    img, d = _canvas(box.w, box.h)
    d.rectangle([0, 0, box.w - 1, box.h - 1], fill=(*_shade(style.secondary, 0.55), 255))
    d.rectangle([0, 0, box.w - 1, layout.px(2) - 1], fill=(*style.primary, 255))
    font = broadcast_font(layout.px(19), "bold")
    tw = text_width(text, font)
    d.text(
        ((box.w - tw) / 2, _text_y(font, text, layout.px(2), box.h - layout.px(2))),
        text,
        font=font,
        fill=(*style.text, 255),
    )
    return Sprite.from_rgba(img)


def caption_sprite(layout: Layout, lines: list[str]) -> Sprite:
    """Burned-in captions: white text on a translucent black plate per line, centred, bottom-aligned in the box."""
    box = layout.captions
    line_h = box.h // 2
    shown, font = [], broadcast_font(layout.px(27), "bold")
    for ln in lines[-2:]:
        fitted, f = fit_text(ln, box.w - layout.px(24), 1, layout.px(27), layout.px(16))
        shown.append(fitted[0])
        font = f if f.size < font.size else font
    img, d = _canvas(box.w, box.h)
    top = box.h - line_h * len(shown)
    for i, ln in enumerate(shown):
        tw = text_width(ln, font)
        x0 = round((box.w - tw) / 2) - layout.px(12)
        y0 = top + i * line_h
        d.rectangle(
            [max(0, x0), y0, min(box.w, round(x0 + tw) + 2 * layout.px(12)) - 1, y0 + line_h - 1], fill=(0, 0, 0, 185)
        )
        d.text((x0 + layout.px(12), _text_y(font, ln, y0, line_h)), ln, font=font, fill=(255, 255, 255, 255))
    return Sprite.from_rgba(img)


def panel_picture_box(layout: Layout) -> Box:
    """Where the picture goes inside the media panel (above the credit line)."""
    p = layout.panel
    return Box(p.x, p.y, p.w, p.h - layout.px(26))


def panel_video_box(layout: Layout) -> Box:
    """Where a video clip plays inside the media panel (the picture area above the brand rule)."""
    pic = panel_picture_box(layout)
    return Box(pic.x, pic.y, pic.w, pic.h - layout.px(4))


def fit_cover(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """Scale and centre-crop `image` (RGB) to exactly w x h."""
    ih, iw = image.shape[:2]
    s = max(w / iw, h / ih)
    size = (max(w, round(iw * s)), max(h, round(ih * s)))
    scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x0, y0 = (size[0] - w) // 2, (size[1] - h) // 2
    return np.ascontiguousarray(scaled[y0 : y0 + h, x0 : x0 + w, :3])


def panel_sprite(layout: Layout, style: Style, credit: str | None, picture: np.ndarray | None) -> Sprite:
    """The media panel: the picture (cover-fitted; None leaves the picture area for a video), a brand
    rule under it and the credit line."""
    box = layout.panel
    pic = panel_picture_box(layout)
    img, d = _canvas(box.w, box.h)
    rule = layout.px(4)
    cred_h = box.h - pic.h
    d.rectangle([0, pic.h - rule, box.w - 1, pic.h - 1], fill=(*style.primary, 255))
    d.rectangle([0, pic.h, box.w - 1, box.h - 1], fill=(8, 10, 16, 200))
    if credit:
        lines, font = fit_text(credit, box.w - layout.px(20), 1, layout.px(14), layout.px(10), weight="regular")
        d.text((layout.px(10), _text_y(font, lines[0], pic.h, cred_h)), lines[0], font=font, fill=(230, 230, 230, 255))
    rgba = np.asarray(img).copy()
    if picture is not None:
        rgba[: pic.h - rule, :, :3] = fit_cover(picture, box.w, pic.h - rule)
        rgba[: pic.h - rule, :, 3] = 255
    return Sprite.from_rgba(rgba)


def card_image(layout: Layout, style: Style, channel: str, title: str, lines: list[str]) -> np.ndarray:
    """A full-frame intro/outro card: brand gradient, a diagonal accent, channel, title and small lines."""
    w, h = layout.width, layout.height
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    top, bottom = (
        np.array(_shade(style.secondary, 1.5), np.float32),
        np.array(_shade(style.secondary, 0.45), np.float32),
    )
    img = top + (bottom - top) * ((yy / h) * 0.7 + (xx / w) * 0.3)[..., None]
    glow = np.exp(-(((xx - 0.7 * w) / (0.6 * w)) ** 2 + ((yy - 0.3 * h) / (0.6 * h)) ** 2))
    img += glow[..., None] * 35
    diag = (xx - 0.55 * w) + (yy - h) * 0.35
    band = (diag > 0) & (diag < layout.px(70))
    img[band] = img[band] * 0.35 + np.array(style.primary, np.float32) * 0.65
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).convert("RGBA")
    d = ImageDraw.Draw(out)
    s = layout.safe
    x = s.x + layout.px(10)
    ch_lines, ch_font = fit_text(channel.upper(), s.w * 0.8, 1, layout.px(26), layout.px(14))
    y = round(h * (0.36 if layout.aspect != "9:16" else 0.34))
    cw = round(text_width(ch_lines[0], ch_font)) + 2 * layout.px(12)
    d.rectangle([x, y, x + cw - 1, y + layout.px(40) - 1], fill=(*style.primary, 255))
    d.text(
        (x + layout.px(12), _text_y(ch_font, ch_lines[0], y, layout.px(40))),
        ch_lines[0],
        font=ch_font,
        fill=(*style.text, 255),
    )
    y += layout.px(56)
    t_lines, t_font = fit_text(title, s.w - layout.px(20), 2, layout.px(54), layout.px(26))
    for ln in t_lines:
        d.text((x, y), ln, font=t_font, fill=(*style.text, 255))
        y += round(t_font.size * 1.25)
    y += layout.px(8)
    d.rectangle([x, y, x + layout.px(90) - 1, y + layout.px(4) - 1], fill=(*style.primary, 255))
    y += layout.px(22)
    for ln in lines:
        sub, f = fit_text(ln, s.w - layout.px(20), 2, layout.px(20), layout.px(12), weight="regular")
        for part in sub:
            d.text((x, y), part, font=f, fill=(220, 226, 236, 255))
            y += round(f.size * 1.4)
    return np.ascontiguousarray(np.asarray(out)[..., :3])
