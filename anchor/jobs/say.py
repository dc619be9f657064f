"""`anchor say`: text -> speech -> mouth track -> anchor frames -> presenter shot -> MP4.

With `audio` set, a recorded voice replaces the speech stage; speech without phoneme timings
(an audio file, an external TTS server) gets its mouth track from the audio-to-mouth model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anchor.config import BUILTIN_AVATARS, Settings
from anchor.disclosure import disclosure_tags
from anchor.errors import InputError
from anchor.face.avatar import AvatarStore
from anchor.face.blink import BlinkSchedule
from anchor.face.renderer import FaceRenderer
from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.lipsync.track import MouthTrack
from anchor.speech.base import SentenceSpan, Speech
from anchor.speech.registry import make_speech_backend
from anchor.studio.presenter import PresenterShot, presenter_placement
from anchor.timebase import samples_per_frame
from streaming.file import Mp4Sink
from streaming.frames import AudioChunk, VideoFrame

Progress = Callable[[str, float], None]
"""Called with (stage, fraction done 0..1); stages: speech, lipsync, render."""


@dataclass(frozen=True)
class SayRequest:
    """What to say, with whom, and where to write it."""

    text: str
    output: Path
    avatar: str | None = None
    language: str | None = None
    voice: str | None = None
    rate: int | None = None
    pitch: int | None = None
    width: int | None = None
    height: int | None = None
    audio: Path | None = None
    captions: bool = True
    background: str | None = None  # "#rrggbb" (flat) or "#top,#bottom" (gradient); None = the studio look
    background_image: Path | None = None  # a PNG/JPEG picture, cover-scaled behind the anchor (instead of `background`)


@dataclass(frozen=True)
class SayResult:
    """What was rendered."""

    output: Path
    speech: Speech
    track: MouthTrack
    frames: int
    captions: tuple[Path, ...] = ()


def render_speech_video(
    speech: Speech,
    track: MouthTrack,
    renderer: FaceRenderer,
    shot: PresenterShot,
    sink: Mp4Sink,
    progress: Progress | None = None,
) -> int:
    """Render every frame of `track` with its slice of `speech` into `sink`; returns frames written."""
    fps = track.fps
    spf = samples_per_frame(fps)
    n = len(track)
    pcm = np.zeros(n * spf, np.int16)
    pcm[: min(speech.n_samples, n * spf)] = speech.pcm[: n * spf]
    shot.set_rest(renderer.render(np.zeros(4, np.float32), 0.0))
    for i in range(n):
        anchor_frame = renderer.render(track.params[i], i / fps)
        image = shot.compose(anchor_frame)
        sink.write(VideoFrame(i, image, fps), AudioChunk(i * spf, pcm[i * spf : (i + 1) * spf]))
        if progress and (i % 5 == 0 or i == n - 1):
            progress("render", (i + 1) / n)
    return n


def say(settings: Settings, request: SayRequest, progress: Progress | None = None) -> SayResult:
    """Render `request.text` spoken by the avatar into an MP4 at `request.output`."""
    width = request.width or settings.video.width
    height = request.height or settings.video.height
    if width % 2 or height % 2 or not (64 <= width <= 3840 and 64 <= height <= 2160):
        raise InputError(f"size {width}x{height} is not allowed: use even numbers, 64..3840 x 64..2160", field="size")
    fps = settings.video.fps
    store = AvatarStore(settings.avatars_dir, BUILTIN_AVATARS)
    avatar = store.load(request.avatar or settings.default_avatar)  # fail fast on a bad name
    output = Path(request.output)
    if output.suffix.lower() != ".mp4":
        raise InputError(f"output {output} must end in .mp4", field="output")
    if not output.parent.exists():
        raise InputError(f"output folder {output.parent} does not exist", field="output")

    if request.background is not None and request.background_image is not None:
        raise InputError(
            "give either background (a colour) or background_image (a picture), not both", field="background"
        )
    if request.background_image is not None:
        backdrop = background_from_image(request.background_image, width, height)
    else:
        backdrop = parse_background(request.background, width, height)
    if progress:
        progress("speech", 0.0)
    if request.audio is not None:
        speech = speech_from_file(request.audio, request.language, request.text)
    else:
        backend = make_speech_backend(settings.speech)
        speech = backend.synthesize(
            request.text, language=request.language, voice=request.voice, rate=request.rate, pitch=request.pitch
        )
    if progress:
        progress("lipsync", 0.0)
    track = mouth_track_for(speech, fps)

    placement = presenter_placement(avatar, width, height)
    renderer = FaceRenderer(
        avatar, placement.scale, BlinkSchedule(settings.face.blink_min_s, settings.face.blink_max_s, settings.face.seed)
    )
    shot = PresenterShot(width, height, placement, renderer.size, label=_label(speech.language), background=backdrop)
    v = settings.video
    with Mp4Sink(
        output,
        width,
        height,
        fps,
        crf=v.crf,
        preset=v.preset,
        threads=v.threads,
        metadata=disclosure_tags(speech.language),
    ) as sink:
        frames = render_speech_video(speech, track, renderer, shot, sink, progress)
    captions: tuple[Path, ...] = ()
    if request.captions and speech.words:
        from anchor.captions import build_cues, write_captions

        captions = write_captions(output, build_cues(request.text, speech.words, fps), speech.language)
    return SayResult(output, speech, track, frames, captions)


def parse_background(spec: str | None, width: int, height: int) -> np.ndarray | None:
    """A backdrop from "#rrggbb" (flat colour) or "#rrggbb,#rrggbb" (top-to-bottom gradient)."""
    if spec is None:
        return None
    from anchor.studio.compositor import solid_background

    parts = [p.strip() for p in spec.split(",")]
    if not 1 <= len(parts) <= 2 or not all(re.fullmatch(r"#[0-9a-fA-F]{6}", p) for p in parts):
        raise InputError(
            f"background {spec!r} is not understood: use a colour '#1a2b3c' or a gradient '#1a2b3c,#000000'",
            field="background",
        )
    cols = [tuple(int(p[i : i + 2], 16) for i in (1, 3, 5)) for p in parts]
    return solid_background(width, height, cols[0], cols[1] if len(cols) == 2 else None)  # type: ignore[arg-type]


def decode_background_image(source: Path | bytes) -> np.ndarray:
    """A picture file (or its bytes) as RGB: EXIF rotation applied, transparency flattened onto black."""
    import io

    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source)) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode.startswith("I"):  # 16/32-bit grey: keep the top 8 bits rather than clipping
                im = Image.fromarray((np.asarray(im).astype(np.int64) >> 8).clip(0, 255).astype(np.uint8))
            rgba = im.convert("RGBA")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InputError(f"the background image cannot be decoded ({e})", field="background_image") from e
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return np.asarray(flat.convert("RGB"))


def background_from_image(path: Path, width: int, height: int) -> np.ndarray:
    """The picture at `path` scaled to cover width x height and centre-cropped (aspect kept, no bars)."""
    from anchor.studio.graphics import fit_cover

    return fit_cover(decode_background_image(path), width, height)


def speech_from_file(path: Path, language: str | None, text: str = "") -> Speech:
    """A recorded voice as Speech (48 kHz mono, no timings); refuses unusable files."""
    from anchor.speech.audio_in import decode_audio

    if language is not None and language not in ("en", "zh"):
        raise InputError(f"language {language!r} is not supported; use en or zh", field="language")
    pcm = decode_audio(path, field="audio")
    spans = (SentenceSpan(" ".join(text.split()), 0, int(pcm.size)),) if text.strip() else ()
    return Speech(pcm=pcm, language=language or "en", voice=f"audio:{Path(path).name}", sentences=spans)


def mouth_track_for(speech: Speech, fps: int) -> MouthTrack:
    """The timing path when the speech has phoneme timings, else the audio-to-mouth model."""
    if speech.phonemes:
        return mouth_track_from_phonemes(speech.phonemes, speech.n_samples, fps)
    from anchor.lipsync.model.infer import AudioMouthModel

    return AudioMouthModel.load().mouth_track(speech.pcm, fps)


def _label(language: str) -> str:
    from anchor.disclosure import AI_LABEL

    return AI_LABEL.get(language, AI_LABEL["en"])
