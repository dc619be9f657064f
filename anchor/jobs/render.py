"""`anchor render`: a rundown -> a bulletin MP4 with broadcast graphics, plus SRT and WebVTT captions.

Stages as everywhere: speech (per story, with inline pauses) -> mouth track -> face -> the studio
compositor (the same one the live channel uses) -> Mp4Sink. The whole programme is laid out on
the frame grid first (intro card, stories with their pauses, outro card); then frames are rendered
in order, each story's graphics scheduled in program frames.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from anchor.captions import Cue, build_cues, write_captions
from anchor.config import BUILTIN_AVATARS, Settings
from anchor.disclosure import AI_LABEL, disclosure_tags
from anchor.errors import InputError
from anchor.face.avatar import AvatarStore
from anchor.face.blink import BlinkSchedule
from anchor.face.renderer import AnchorFrame, FaceRenderer
from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.lipsync.track import JAW
from anchor.rundown.model import Rundown, Story
from anchor.rundown.ssml import split_breaks
from anchor.speech.base import (
    PhonemeEvent,
    SentenceSpan,
    Speech,
    SpeechBackend,
    WordEvent,
)
from anchor.speech.registry import make_speech_backend
from anchor.speech.text import detect_language
from anchor.studio import graphics as g
from anchor.studio.compositor import Compositor, solid_background, studio_backdrop
from anchor.studio.layout import Layout, make_layout
from anchor.studio.media import VideoLoop, load_image
from anchor.studio.presenter import anchor_placements
from anchor.timebase import PROGRAM_RATE, samples_per_frame
from streaming.file import Mp4Sink
from streaming.frames import AudioChunk, VideoFrame

Progress = Callable[[str, int, float], None]
"""Called with (part, story index (-1 intro, n outro), fraction 0..1); parts: speech, render."""

CARD_SECONDS = 3.0
STRAP_DELAY_S = 0.6  # the strap arrives this long after a story starts
TEXT = {
    "en": {
        "ticker": "Headlines",
        "thanks": "Thank you for watching",
        "ai": "Presented by an AI-generated anchor: synthetic voice and face.",
    },
    "zh": {"ticker": "要闻", "thanks": "感谢收看", "ai": "本节目由AI生成的主播播报：合成的声音与形象。"},
}


@dataclass
class StoryPlan:
    """A story laid out on the programme's frame grid."""

    index: int
    story: Story
    speech: Speech
    params: np.ndarray  # (frames of speech, 4) mouth parameters
    start: int  # first frame
    speech_frames: int
    frames: int  # speech + pause after
    text: str  # clean text (no marks)
    avatar: str
    cues: list[Cue] = field(default_factory=list)


@dataclass(frozen=True)
class RenderResult:
    output: Path
    srt: Path
    vtt: Path
    frames: int
    fps: int
    width: int
    height: int
    stories: tuple[StoryPlan, ...]
    cues: tuple[Cue, ...]
    metadata: dict[str, str]

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def _concat_speech(parts: list[tuple[Speech, int, int]], language: str, voice: str) -> Speech:
    """Join (speech, pause samples after, char offset) parts into one Speech with shifted timings."""
    pcm, ph, wo, se = [], [], [], []
    at = 0
    for sp, pause, off in parts:
        ph += [PhonemeEvent(p.phoneme, p.start + at, p.end + at) for p in sp.phonemes]
        wo += [WordEvent(w.text, w.start + at, w.end + at, w.char_start + off, w.char_end + off) for w in sp.words]
        se += [SentenceSpan(s.text, s.start + at, s.end + at) for s in sp.sentences]
        pcm += [sp.pcm, np.zeros(pause, np.int16)]
        at += sp.n_samples + pause
    return Speech(
        np.concatenate(pcm) if pcm else np.zeros(0, np.int16), language, voice, tuple(ph), tuple(wo), tuple(se)
    )


def speak_story(
    backend: SpeechBackend, story: Story, field: str, voice: str | None, rate: int | None
) -> tuple[Speech, str]:
    """Synthesize a story's text with its <break/> pauses; returns the speech and the clean text."""
    assert story.text is not None
    clean, segments = split_breaks(story.text, field=f"{field}.text")
    language = story.language or detect_language(clean)
    parts: list[tuple[Speech, int, int]] = []
    used_voice = voice or ""
    for seg in segments:
        pause = round(seg.pause_ms * PROGRAM_RATE / 1000)
        if not seg.text.strip():
            parts.append((Speech(np.zeros(0, np.int16), language, used_voice), pause, seg.offset))
            continue
        try:
            sp = backend.synthesize(seg.text, language=language, voice=voice, rate=rate)
        except InputError as e:
            raise InputError(str(e), field=f"{field}.{e.field or 'text'}") from None
        used_voice = sp.voice
        parts.append((sp, pause, seg.offset))
    return _concat_speech(parts, language, used_voice), clean


def read_audio(path: Path, field: str) -> np.ndarray:
    """A sound file as 48 kHz mono int16."""
    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                raise InputError(f"{path} has no audio", field=field)
            rs = av.AudioResampler(format="s16", layout="mono", rate=PROGRAM_RATE)
            chunks = []
            for frame in c.decode(c.streams.audio[0]):
                for f in rs.resample(frame):
                    chunks.append(f.to_ndarray().reshape(-1))
            for f in rs.resample(None):
                chunks.append(f.to_ndarray().reshape(-1))
    except av.error.FFmpegError as e:
        raise InputError(f"{path} is not a sound file anchor can read: {e}", field=field) from None
    pcm = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
    if pcm.size == 0:
        raise InputError(f"{path} holds no sound", field=field)
    return pcm


def envelope_mouth(pcm: np.ndarray, fps: int) -> np.ndarray:
    """Mouth parameters from loudness alone (for stories given as audio): the jaw follows the RMS envelope."""
    spf = samples_per_frame(fps)
    n = -(-len(pcm) // spf)
    padded = np.zeros(n * spf, np.float32)
    padded[: len(pcm)] = pcm / 32768.0
    rms = np.sqrt((padded.reshape(n, spf) ** 2).mean(axis=1))
    ref = max(1e-4, float(np.percentile(rms, 95)))
    jaw = np.clip((rms / ref - 0.08) / 0.9, 0, 1) ** 0.8 * 0.8
    jaw = np.convolve(jaw, [0.25, 0.5, 0.25], mode="same")
    params = np.zeros((n, 4), np.float32)
    params[:, JAW] = jaw
    return params


def _layout_for(rundown: Rundown, aspect: str | None, resolution: int | None) -> tuple[Layout, int]:
    fmt = rundown.programme.video
    fmt = fmt.model_copy(update={k: v for k, v in (("aspect", aspect), ("resolution", resolution)) if v is not None})
    w, h = fmt.size
    return make_layout(w, h), fmt.fps


def _background(rundown: Rundown, w: int, h: int) -> np.ndarray | VideoLoop:
    bg = rundown.programme.background
    if bg.color:
        return solid_background(w, h, g.hex_rgb(bg.color))
    if bg.gradient:
        return solid_background(w, h, g.hex_rgb(bg.gradient[0]), g.hex_rgb(bg.gradient[1]))
    if bg.image:
        return g.fit_cover(load_image(bg.image, "programme.background.image"), w, h)
    if bg.video:
        return VideoLoop(bg.video, w, h, "programme.background.video")
    return studio_backdrop(w, h)


def _clock_start(text: str | None) -> float:
    if text is None:
        now = _dt.datetime.now()
        return now.hour * 3600 + now.minute * 60 + now.second
    parts = [int(p) for p in text.split(":")] + [0]
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def render_rundown(
    settings: Settings,
    rundown: Rundown,
    output: Path,
    progress: Progress | None = None,
    *,
    aspect: str | None = None,
    resolution: int | None = None,
    burn_captions: bool | None = None,
    content_id: str | None = None,
) -> RenderResult:
    """Render `rundown` into `output` (.mp4) with captions beside it (.srt, .vtt)."""
    output = Path(output)
    if output.suffix.lower() != ".mp4":
        raise InputError(f"output {output} must end in .mp4", field="output")
    if not output.parent.exists():
        raise InputError(f"output folder {output.parent} does not exist", field="output")
    prog = rundown.programme
    gfx = prog.graphics
    layout, fps = _layout_for(rundown, aspect, resolution)
    W, H = layout.width, layout.height
    spf = samples_per_frame(fps)
    locale = prog.locale
    words = TEXT[locale]
    style = g.Style(
        *(
            g.hex_rgb(c)
            for c in (
                prog.theme.primary,
                prog.theme.secondary,
                prog.theme.text,
                prog.theme.headline_plate,
                prog.theme.headline_text,
            )
        )
    )

    # Avatars (fail fast on bad names), one face renderer per avatar.
    store = AvatarStore(settings.avatars_dir, BUILTIN_AVATARS)
    names = {prog.avatar or settings.default_avatar}
    for i, s in enumerate(rundown.stories):
        if s.avatar:
            try:
                store.path_of(s.avatar)
            except InputError as e:
                raise type(e)(str(e), field=f"stories[{i}].avatar") from None
            names.add(s.avatar)
    renderers: dict[str, tuple[FaceRenderer, tuple]] = {}
    for name in sorted(names):
        pack = store.load(name)
        solo, beside = anchor_placements(pack, layout)
        blinks = BlinkSchedule(settings.face.blink_min_s, settings.face.blink_max_s, settings.face.seed)
        renderers[name] = (FaceRenderer(pack, solo.scale, blinks), (solo, beside))

    # Speech for every story, laid out on the frame grid.
    backend = make_speech_backend(settings.speech)
    intro = round(CARD_SECONDS * fps) if gfx.intro else 0
    at = intro
    plans: list[StoryPlan] = []
    for i, s in enumerate(rundown.stories):
        if progress:
            progress("speech", i, 0.0)
        where = f"stories[{i}]"
        if s.audio is not None:
            pcm = read_audio(s.audio, f"{where}.audio")
            speech = Speech(pcm, s.language or locale, "audio file")
            params, clean = envelope_mouth(pcm, fps), ""
        else:
            speech, clean = speak_story(backend, s, where, s.voice or prog.voice, s.rate or prog.rate)
            params = mouth_track_from_phonemes(speech.phonemes, speech.n_samples, fps).params
        speech_frames = max(len(params), -(-speech.n_samples // spf))
        frames = speech_frames + round(s.pause_after * fps)
        plan = StoryPlan(
            i, s, speech, params, at, speech_frames, frames, clean, s.avatar or prog.avatar or settings.default_avatar
        )
        plan.cues = build_cues(clean, speech.words, fps, offset=at * spf) if clean else []
        plans.append(plan)
        at += frames
        if progress:
            progress("speech", i, 1.0)
    outro = round(CARD_SECONDS * fps) if gfx.outro else 0
    total = at + outro

    # The studio, with every graphic scheduled in program frames.
    first = renderers[plans[0].avatar]
    solo, beside = first[1]
    label = prog.disclosure.label or AI_LABEL.get(locale, AI_LABEL["en"])
    background = _background(rundown, W, H)
    loops: list[VideoLoop] = [background] if isinstance(background, VideoLoop) else []
    comp = Compositor(layout, first[0].size, solo, beside, background=background, style=style, label=label, fps=fps)
    if gfx.logo:
        comp.set_logo(prog.channel, load_image(prog.logo, "programme.logo", keep_alpha=True) if prog.logo else None)
    if gfx.ticker:
        comp.set_ticker(
            prog.ticker or [p.story.headline for p in plans if p.story.headline] or [prog.title],
            prog.ticker_label or words["ticker"],
        )
    if gfx.clock:
        comp.set_clock(_clock_start(gfx.clock_time))
    date = _dt.date.today().isoformat()
    if intro:
        comp.show_card(g.card_image(layout, style, prog.channel, prog.title, [date, words["ai"]]), start=0, end=intro)
    if outro:
        comp.show_card(
            g.card_image(layout, style, prog.channel, words["thanks"], [prog.title, words["ai"]]), start=at, end=total
        )
    for p in plans:
        s = p.story
        if gfx.lower_third and s.headline:
            strap_start = p.start + round(STRAP_DELAY_S * fps)
            strap_end = max(p.start + p.speech_frames + round(0.4 * fps), strap_start + 3 * fps)
            comp.show_lower_third(
                s.headline, s.subline, prog.title, start=strap_start, end=min(strap_end, p.start + p.frames)
            )
        if s.media is not None:
            m, f = s.media, f"stories[{p.index}].media"
            full = m.placement == "full"
            image = load_image(m.image, f"{f}.image") if m.image else None
            video = None
            if m.video:
                box = (W, H) if full else (g.panel_video_box(layout).w, g.panel_video_box(layout).h)
                video = VideoLoop(m.video, *box, f"{f}.video")
                loops.append(video)
            comp.show_media(
                start=p.start, end=p.start + p.frames, full=full, image=image, video=video, credit=m.caption
            )
    cues = [c for p in plans for c in p.cues]
    if gfx.captions if burn_captions is None else burn_captions:
        comp.set_captions([(c.start // spf, -(-c.end // spf), c.lines) for c in cues])

    # Program audio and the mouth on the frame grid.
    pcm = np.zeros(total * spf, np.int16)
    mouth = np.zeros((total, 4), np.float32)
    who = [plans[0].avatar] * total
    for p in plans:
        a = p.start * spf
        n = min(p.speech.n_samples, p.frames * spf)
        pcm[a : a + n] = p.speech.pcm[:n]
        k = min(len(p.params), p.frames)
        mouth[p.start : p.start + k] = p.params[:k]
        who[p.start : p.start + p.frames] = [p.avatar] * p.frames
    if outro:
        who[at:] = [plans[-1].avatar] * outro

    meta = disclosure_tags(locale, content_id or str(uuid.uuid4()))
    meta.update({"title": prog.title, "network": prog.channel, "ai_label": label})
    v = settings.video
    current = None
    rest: dict[str, AnchorFrame] = {}
    try:
        with Mp4Sink(output, W, H, fps, crf=v.crf, preset=v.preset, threads=v.threads, metadata=meta) as sink:
            story_of = np.full(total, -1, np.int64)
            for p in plans:
                story_of[p.start : p.start + p.frames] = p.index
            story_of[at:] = len(plans)
            for n in range(total):
                name = who[n]
                renderer, (solo, beside) = renderers[name]
                if name != current:
                    comp.set_anchor(renderer.size, solo, beside)
                    if name not in rest:
                        rest[name] = renderer.render(np.zeros(4, np.float32), 0.0)
                        rest[name] = AnchorFrame(rest[name].image.copy(), rest[name].alpha.copy(), rest[name].dirty)
                    comp.set_rest(rest[name])
                    current = name
                frame = renderer.render(mouth[n], n / fps)
                image = comp.compose(frame, n)
                sink.write(VideoFrame(n, image, fps), AudioChunk(n * spf, pcm[n * spf : (n + 1) * spf]))
                if progress and (n % 10 == 0 or n + 1 == total or story_of[n + 1] != story_of[n]):
                    k = int(story_of[n])
                    if k == -1:
                        progress("render", -1, (n + 1) / max(1, intro))
                    elif k == len(plans):
                        progress("render", k, (n - at + 1) / max(1, outro))
                    else:
                        p = plans[k]
                        progress("render", k, (n - p.start + 1) / p.frames)
    finally:
        for loop in loops:
            loop.close()
    srt, vtt = write_captions(output, cues, locale)
    return RenderResult(output, srt, vtt, total, fps, W, H, tuple(plans), tuple(cues), meta)


AI_KEYS = ("ai_generated", "generator", "content_id", "ai_label", "comment", "language", "title", "network")


def read_ai_marks(path: Path) -> dict[str, str]:
    """The container metadata of a media file (the AI marks among it). InputError if it is not media."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist", field="file")
    try:
        with av.open(str(path)) as c:
            if not (c.streams.video or c.streams.audio):
                raise InputError(f"{path} has no audio or video streams", field="file")
            return {str(k): str(v) for k, v in c.metadata.items()}
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise InputError(
            f"{path} is not a media file (FFmpeg cannot read it: {getattr(e, 'strerror', None) or e})", field="file"
        ) from None
