"""The channel file: what a 24/7 channel plays, with whom, and where it pushes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from anchor.errors import InputError
from anchor.feeds.config import BulletinConfig, FeedsConfig


class OutputConfig(BaseModel):
    """One RTMP destination."""

    model_config = ConfigDict(extra="forbid")
    url: str
    video_bitrate: str = "2500k"
    preset: str = "veryfast"

    @field_validator("url")
    @classmethod
    def _rtmp(cls, v: str) -> str:
        if not v.startswith("rtmp://"):
            raise ValueError("must be an rtmp:// URL")
        return v


class IdleConfig(BaseModel):
    """What plays when the queue is empty: the idle anchor, or a named playlist on loop."""

    model_config = ConfigDict(extra="forbid")
    policy: Literal["idle", "playlist"] = "idle"
    playlist: str | None = None
    motion: float = Field(1.0, ge=0.0, le=3.0, description="Breathing and sway amplitude (0 = a still photo).")


class ControlConfig(BaseModel):
    """Where the control API listens and the key it requires (None = no key)."""

    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    api_key: str | None = None


class IceServerConfig(BaseModel):
    """A STUN/TURN server offered to WebRTC viewers."""

    model_config = ConfigDict(extra="forbid")
    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class WebRtcConfig(BaseModel):
    """Browser viewing over WebRTC (WHEP at /whep)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    max_viewers: int = Field(8, ge=0, le=1000)
    ice_servers: list[IceServerConfig] = Field(default_factory=list)
    host_addresses: list[str] = Field(
        default_factory=list, description="Pin the local addresses ICE offers (e.g. [127.0.0.1] for loopback-only)."
    )


class ChannelConfig(BaseModel):
    """A channel file (YAML)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        "anchor", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Channel name (a slug: used in URLs)."
    )
    avatar: str = "default"
    width: int = Field(1280, ge=64, le=3840)
    height: int = Field(720, ge=64, le=2160)
    fps: Literal[25, 30] = 25
    queue_db: Path = Path("out/channel.db")
    outputs: list[OutputConfig] = Field(default_factory=list)
    idle: IdleConfig = Field(default_factory=IdleConfig)
    recover: Literal["replay", "skip"] = "replay"
    interrupt_policy: Literal["skip", "resume"] = Field(
        "skip",
        description="What happens to an item cut by an interrupt: skip it, or resume it from the sentence it was cut in.",
    )
    ticker: list[str] = Field(
        default_factory=list, description="Ticker items scrolling under the anchor (empty: none)."
    )
    control: ControlConfig = Field(default_factory=ControlConfig)
    webrtc: WebRtcConfig = Field(default_factory=WebRtcConfig)
    feeds: FeedsConfig = Field(
        default_factory=FeedsConfig,
        description="News sources (a list, or a mapping with `sources:`); see config/feeds/.",
    )
    bulletins: list[BulletinConfig] = Field(default_factory=list, description="Bulletins on a schedule.")

    @field_validator("bulletins")
    @classmethod
    def _unique_bulletins(cls, v: list[BulletinConfig]) -> list[BulletinConfig]:
        names = [b.name for b in v]
        if len(set(names)) != len(names):
            raise ValueError("bulletin names must be unique (give each a `name`)")
        return v


def load_channel_config(path: Path) -> ChannelConfig:
    """Read and validate a channel file; errors name the offending field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise InputError(f"cannot read channel file {path}: {e.strerror}", field="channel") from e
    except yaml.YAMLError as e:
        raise InputError(f"channel file {path} is not valid YAML: {e}", field="channel") from e
    try:
        return ChannelConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(f"channel file {path}: {where}: {err['msg']}", field=where) from e
