"""The channel file: what a 24/7 channel plays, with whom, and where it pushes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from anchor.config import frame_size_problem
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


GENERATE_KEY = "generate"


class ControlConfig(BaseModel):
    """Where the control API listens and the key it requires.

    `api_key: generate` (the default) makes a random key on first start and keeps it in
    `<queue_db folder>/<name>.control-key` (mode 0600); a string is the key itself; null means
    no key, which `anchor live` accepts only on a loopback address.
    """

    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    api_key: str | None = Field(GENERATE_KEY, min_length=8)


class IceServerConfig(BaseModel):
    """A STUN/TURN server offered to WebRTC viewers."""

    model_config = ConfigDict(extra="forbid")
    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class TurnConfig(BaseModel):
    """A TURN server sharing a secret with anchor (coturn `use-auth-secret`): every admitted viewer
    gets its own short-lived credentials (TURN REST), never a static password."""

    model_config = ConfigDict(extra="forbid")
    urls: list[str] = Field(min_length=1)
    secret: str = Field(min_length=8)
    ttl_s: int = Field(600, ge=60, le=86400, description="How long minted TURN credentials stay valid.")


class WebRtcConfig(BaseModel):
    """Browser viewing over WebRTC (WHEP at /whep)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    viewing: Literal["public", "token"] = Field(
        "token",
        description="public: anyone may watch; token: viewers need a viewer token (POST /viewer-tokens) or a control key.",
    )
    token_ttl_s: int = Field(
        4 * 3600, ge=60, le=7 * 24 * 3600, description="Default lifetime of a minted viewer token."
    )
    token_secret: str | None = Field(
        None, min_length=16, description="Signs viewer tokens; default: derived from the control key(s)."
    )
    max_viewers: int = Field(8, ge=0, le=1000)
    ice_servers: list[IceServerConfig] = Field(default_factory=list)
    turn: TurnConfig | None = None
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
    media_roots: list[Path] = Field(
        default_factory=list,
        description="Folders whose audio files queue items may name (audio_path); none by default: audio is uploaded.",
    )
    media_dir: Path | None = Field(
        None, description="Where uploaded audio is kept; default: <queue_db folder>/<name>-media."
    )

    @property
    def uploads_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.queue_db.parent / f"{self.name}-media"

    @property
    def control_key_file(self) -> Path:
        return self.queue_db.parent / f"{self.name}.control-key"

    @model_validator(mode="after")
    def _encodable_size(self) -> ChannelConfig:
        problem = frame_size_problem(self.width, self.height)
        if problem:
            bad_width = self.width % 2 or not 64 <= self.width <= 3840
            raise _field_error("width" if bad_width else "height", problem, self.width if bad_width else self.height)
        return self

    @field_validator("bulletins")
    @classmethod
    def _unique_bulletins(cls, v: list[BulletinConfig]) -> list[BulletinConfig]:
        names = [b.name for b in v]
        if len(set(names)) != len(names):
            raise ValueError("bulletin names must be unique (give each a `name`)")
        return v


def _field_error(field: str, message: str, value: object) -> ValidationError:
    return ValidationError.from_exception_data(
        "ChannelConfig", [InitErrorDetails(type=PydanticCustomError("invalid", message), loc=(field,), input=value)]
    )


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
