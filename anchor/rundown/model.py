"""The rundown format: programme metadata, then stories. One pydantic model, exported as JSON Schema.

A rundown is YAML or JSON. Unknown fields are refused (`extra="forbid"` everywhere), so a
typo never silently does nothing; `load_rundown` reports the path of the offending field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HEX_RE = re.compile(r"#[0-9a-fA-F]{6}")  # always fullmatch

Aspect = Literal["16:9", "9:16", "1:1"]


class Strict(BaseModel):
    """Base: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


def _hex(v: str) -> str:
    if not HEX_RE.fullmatch(v):
        raise ValueError(f"{v!r} is not a colour like '#1a2b3c'")
    return v.lower()


class Theme(Strict):
    """Brand colours of the graphics (hex #rrggbb)."""

    primary: str = Field("#c8102e", description="Brand colour: strap tag, ticker label, accents.")
    secondary: str = Field("#0b1f3a", description="Dark plates: ticker band, headline subline.")
    text: str = Field("#ffffff", description="Text on the brand and dark colours.")
    headline_plate: str = Field("#ffffff", description="Plate behind the lower-third headline.")
    headline_text: str = Field("#0b1f3a", description="Headline text colour.")

    @field_validator("primary", "secondary", "text", "headline_plate", "headline_text")
    @classmethod
    def _colour(cls, v: str) -> str:
        return _hex(v)


class Background(Strict):
    """The studio background: exactly one of colour, gradient, image or video (looped); default: the studio look."""

    color: str | None = Field(None, description="A flat colour #rrggbb.")
    gradient: tuple[str, str] | None = Field(None, description="Top and bottom colours #rrggbb.")
    image: Path | None = Field(None, description="A picture, scaled to cover the frame.")
    video: Path | None = Field(None, description="A video clip, scaled to cover the frame and looped (no sound).")

    @field_validator("color")
    @classmethod
    def _color(cls, v: str | None) -> str | None:
        return None if v is None else _hex(v)

    @field_validator("gradient")
    @classmethod
    def _gradient(cls, v: tuple[str, str] | None) -> tuple[str, str] | None:
        return None if v is None else (_hex(v[0]), _hex(v[1]))

    @model_validator(mode="after")
    def _one(self) -> Background:
        given = [k for k in ("color", "gradient", "image", "video") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of color, gradient, image, video (got {', '.join(given)})")
        return self


class VideoFormat(Strict):
    """Picture format: aspect ratio and resolution (720 = 1280x720 / 720x1280 / 720x720)."""

    aspect: Aspect = "16:9"
    resolution: Literal[720, 1080] = 720
    fps: Literal[25, 30] = 25

    @property
    def size(self) -> tuple[int, int]:
        r = self.resolution
        long = r * 16 // 9
        return {"16:9": (long, r), "9:16": (r, long), "1:1": (r, r)}[self.aspect]


class Graphics(Strict):
    """Which graphics are on. All on by default except burned-in captions."""

    lower_third: bool = True
    ticker: bool = True
    clock: bool = True
    logo: bool = True
    captions: bool = Field(False, description="Burn captions into the picture (SRT/WebVTT are always written).")
    intro: bool = True
    outro: bool = True
    clock_time: str | None = Field(
        None, description="Wall time the programme starts at, HH:MM[:SS]; default: now. The clock runs on program time."
    )

    @field_validator("clock_time")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$", v):
            raise ValueError(f"{v!r} is not a time like '18:00' or '18:00:00'")
        return v


class Disclosure(Strict):
    """The AI-generated marks. The label cannot be switched off, only reworded."""

    label: str | None = Field(
        None, max_length=40, description="On-screen label; default by locale: 'AI-generated' / 'AI生成'."
    )


class Media(Strict):
    """A picture or a video clip shown with a story."""

    image: Path | None = None
    video: Path | None = None
    placement: Literal["panel", "full"] = Field(
        "panel", description="Beside the anchor, or full-frame (anchor heard, not seen)."
    )
    caption: str | None = Field(None, max_length=80, description="Credit or caption line under the panel.")

    @model_validator(mode="after")
    def _one(self) -> Media:
        if (self.image is None) == (self.video is None):
            raise ValueError("give exactly one of image or video")
        return self


class Story(Strict):
    """One story: what the anchor says (text, or an audio file) and what is on screen meanwhile."""

    text: str | None = Field(
        None, max_length=5000, description='What the anchor says; may hold <break time="500ms"/> pauses.'
    )
    audio: Path | None = Field(
        None,
        description="A recorded voice (any common audio file) to play instead of speech; the mouth follows its sound.",
    )
    language: Literal["en", "zh"] | None = Field(None, description="Default: detected from the text.")
    headline: str | None = Field(None, max_length=120, description="Lower-third headline.")
    subline: str | None = Field(None, max_length=160, description="Second line of the lower-third.")
    media: Media | None = None
    pause_after: float = Field(0.6, ge=0, le=10, description="Seconds of silence after the story.")
    voice: str | None = None
    rate: int | None = Field(None, ge=80, le=450)
    avatar: str | None = Field(None, description="Default: the programme's avatar.")

    @model_validator(mode="after")
    def _source(self) -> Story:
        if (self.text is None or not self.text.strip()) and self.audio is None:
            raise ValueError("give text or audio")
        if self.text is not None and self.text.strip() and self.audio is not None:
            raise ValueError("give text or audio, not both")
        return self


class Programme(Strict):
    """Programme metadata."""

    title: str = Field(..., min_length=1, max_length=80)
    channel: str = Field("anchor news", min_length=1, max_length=40, description="Channel/brand name.")
    logo: Path | None = Field(None, description="Logo picture (PNG with transparency works best); default: a text bug.")
    locale: Literal["en", "zh"] = "en"
    video: VideoFormat = Field(default_factory=VideoFormat)
    theme: Theme = Field(default_factory=Theme)
    background: Background = Field(default_factory=Background)
    graphics: Graphics = Field(default_factory=Graphics)
    disclosure: Disclosure = Field(default_factory=Disclosure)
    avatar: str | None = Field(None, description="Default: the configured default avatar.")
    voice: str | None = None
    rate: int | None = Field(None, ge=80, le=450)
    ticker: list[str] = Field(default_factory=list, description="Ticker items; default: the story headlines.")
    ticker_label: str | None = Field(None, max_length=20, description="Box at the ticker's left; default by locale.")


class Rundown(Strict):
    """A news bulletin: the programme, then its stories in running order."""

    programme: Programme
    stories: list[Story] = Field(..., min_length=1, max_length=200)


def rundown_json_schema() -> dict:
    """The rundown format as JSON Schema (draft 2020-12)."""
    schema = Rundown.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "anchor rundown"
    return schema
