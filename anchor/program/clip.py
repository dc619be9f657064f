"""`anchor say`: text (or a recording) -> speech -> mouth -> anchor -> presenter shot -> MP4.

The clip is one Segment played from frame 0 on the program timeline, written to an Mp4Sink.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anchor.captions import build_cues, write_captions
from anchor.config import check_frame_size
from anchor.disclosure import AI_LABEL, disclosure_tags
from anchor.errors import InputError
from anchor.lipsync.track import MouthTrack
from anchor.program.pipeline import Pipeline
from anchor.program.timeline import ProgramTimeline
from anchor.speech.base import Speech
from anchor.studio.backdrop import backdrop_from_request
from anchor.studio.presenter import PresenterShot, presenter_placement
from streaming.file import Mp4Sink

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


def check_size(width: int, height: int) -> None:
    """Refuse frame sizes the encoder and the layouts cannot take (see `anchor.config.frame_size_problem`)."""
    check_frame_size(width, height)


def check_output(output: Path) -> Path:
    """An .mp4 path in an existing folder."""
    output = Path(output)
    if output.suffix.lower() != ".mp4":
        raise InputError(f"output {output} must end in .mp4", field="output")
    if not output.parent.exists():
        raise InputError(f"output folder {output.parent} does not exist", field="output")
    return output


def say(pipeline: Pipeline, request: SayRequest, progress: Progress | None = None) -> SayResult:
    """Render `request.text` (or `request.audio`) spoken by the avatar into an MP4 at `request.output`."""
    settings = pipeline.settings
    width = request.width or settings.video.width
    height = request.height or settings.video.height
    check_size(width, height)
    fps = settings.video.fps
    avatar = pipeline.avatar(request.avatar)  # fail fast on a bad name
    output = check_output(request.output)
    backdrop = backdrop_from_request(request.background, request.background_image, width, height)

    if progress:
        progress("speech", 0.0)
    said = request.text
    if request.audio is None:
        pipeline.require_publishable(request.text, request.language)
    if request.audio is not None:
        heard = pipeline.listen(request.audio, language=request.language, text=request.text)
        said = heard.text
        if said.strip():
            pipeline.require_publishable(said, heard.speech.language, field="audio")
        if progress:
            progress("lipsync", 0.0)
        segment = pipeline.segment(heard.speech, fps)
    else:
        segment = pipeline.text_segment(
            request.text, fps, language=request.language, voice=request.voice, rate=request.rate, pitch=request.pitch
        )
        if progress:
            progress("lipsync", 1.0)
    speech = segment.speech

    placement = presenter_placement(avatar, width, height)
    renderer = pipeline.renderer(avatar, placement.scale)
    label = AI_LABEL.get(speech.language, AI_LABEL["en"])
    shot = PresenterShot(width, height, placement, renderer.size, label=label, fps=fps, background=backdrop)
    content_id = str(uuid.uuid4())
    prov = pipeline.output_provenance(
        content_id=content_id,
        presenters=[avatar],
        scripts=[said] if said.strip() else [],
        language=speech.language,
        voice=speech.voice,
        title=said[:80],
        kind="clip",
    )
    timeline = ProgramTimeline(renderer, shot, fps, mark=prov.watermarker.embed if prov.watermarker else None)
    timeline.play(segment)
    v = settings.video
    n = segment.frames
    meta = disclosure_tags(speech.language, content_id)
    with Mp4Sink(
        output, width, height, fps, crf=v.crf, preset=v.preset, threads=v.threads, metadata=meta, finalize=prov.finalize
    ) as sink:
        for i in range(n):
            sink.write(*timeline.next_frame())
            if progress and (i % 5 == 0 or i == n - 1):
                progress("render", (i + 1) / n)
    captions: tuple[Path, ...] = ()
    if request.captions and speech.words:
        captions = write_captions(output, build_cues(said, speech.words, fps), speech.language)
    return SayResult(output, speech, segment.track, n, captions)
