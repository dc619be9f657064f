"""`anchor render`: a rundown -> a bulletin MP4 with broadcast graphics, plus SRT and WebVTT captions.

The same stages as everywhere: each story becomes a Segment (speech with its inline pauses ->
the planned mouth; a recorded story -> the same recording path as `say --audio`), the whole
programme is laid out on the frame grid (intro card, stories with their pauses, outro card),
every graphic is scheduled in program frames on the studio compositor, and the program
timeline plays the stories at their frames into an Mp4Sink.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from anchor.captions import Cue, build_cues, write_captions
from anchor.disclosure import AI_LABEL, disclosure_tags
from anchor.errors import InputError
from anchor.face.base import AnchorRenderer
from anchor.program.clip import check_output
from anchor.program.pipeline import Pipeline
from anchor.program.segment import Segment
from anchor.program.timeline import ProgramTimeline
from anchor.rundown.model import Rundown, Story
from anchor.rundown.ssml import split_breaks
from anchor.speech.base import Speech
from anchor.speech.text import detect_language
from anchor.studio import graphics as g
from anchor.studio.backdrop import solid_background, studio_backdrop
from anchor.studio.compositor import Compositor, Placement
from anchor.studio.layout import Layout, make_layout
from anchor.studio.media import VideoLoop, load_image
from anchor.studio.presenter import anchor_placements
from anchor.timebase import PROGRAM_RATE, samples_per_frame
from streaming.file import Mp4Sink

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
    segment: Segment
    start: int  # first frame
    frames: int  # speech + pause after
    text: str  # clean text (no marks)
    avatar: str
    cues: list[Cue] = field(default_factory=list)

    @property
    def speech(self) -> Speech:
        return self.segment.speech

    @property
    def speech_frames(self) -> int:
        return self.segment.frames


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


def story_segment(
    pipeline: Pipeline, story: Story, fps: int, field: str, voice: str | None, rate: int | None, key: int = 0
) -> tuple[Segment, str]:
    """A story's Segment and its clean text: spoken text (sentence by sentence, with its <break/>
    pauses), or its recorded voice (with what was heard as its text)."""
    if story.audio is not None:
        heard = pipeline.listen(story.audio, language=story.language, field=f"{field}.audio")
        return pipeline.segment(heard.speech, fps, key=key), heard.text
    assert story.text is not None
    clean, pieces = split_breaks(story.text, field=f"{field}.text")
    language = story.language or detect_language(clean)
    parts: list[Segment] = []
    offsets: list[int] = []
    for piece in pieces:
        if piece.text.strip():
            try:
                spoken = pipeline.text_segment(piece.text, fps, language=language, voice=voice, rate=rate)
            except InputError as e:
                raise InputError(str(e), field=f"{field}.{e.field or 'text'}") from None
            parts.append(spoken)
            offsets.append(piece.offset)
        if piece.pause_ms:
            parts.append(Segment.silence(round(piece.pause_ms * PROGRAM_RATE / 1000), fps, language, voice or ""))
            offsets.append(0)
    return Segment.join(parts, key=key, char_offsets=offsets), clean


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


@dataclass
class _Anchor:
    renderer: AnchorRenderer
    solo: Placement
    beside: Placement


def render_rundown(
    pipeline: Pipeline,
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
    output = check_output(output)
    prog = rundown.programme
    gfx = prog.graphics
    layout, fps = _layout_for(rundown, aspect, resolution)
    W, H = layout.width, layout.height
    spf = samples_per_frame(fps)
    locale = prog.locale
    words = TEXT[locale]
    theme = prog.theme
    style = g.Style(
        *(g.hex_rgb(c) for c in (theme.primary, theme.secondary, theme.text, theme.headline_plate, theme.headline_text))
    )
    default_avatar = prog.avatar or pipeline.settings.default_avatar

    # Avatars (fail fast on bad names), one renderer per avatar.
    names = {default_avatar}
    for i, s in enumerate(rundown.stories):
        if s.avatar:
            try:
                pipeline.avatars.path_of(s.avatar)
            except InputError as e:
                raise type(e)(str(e), field=f"stories[{i}].avatar") from None
            names.add(s.avatar)
    # The content policy for every story before anything is spoken (a bulletin is published as a whole).
    for i, s in enumerate(rundown.stories):
        if s.text is not None:
            clean_text, _ = split_breaks(s.text, field=f"stories[{i}].text")
            pipeline.require_publishable(clean_text, s.language, field=f"stories[{i}].text")
    anchors: dict[str, _Anchor] = {}
    packs = {name: pipeline.avatar(name) for name in sorted(names)}
    for name in sorted(names):
        pack = packs[name]
        solo, beside = anchor_placements(pack, layout)
        anchors[name] = _Anchor(pipeline.renderer(pack, solo.scale), solo, beside)

    # Every story as a segment, laid out on the frame grid.
    intro = round(CARD_SECONDS * fps) if gfx.intro else 0
    at = intro
    plans: list[StoryPlan] = []
    for i, s in enumerate(rundown.stories):
        if progress:
            progress("speech", i, 0.0)
        where = f"stories[{i}]"
        segment, clean = story_segment(pipeline, s, fps, where, s.voice or prog.voice, s.rate or prog.rate, key=i)
        speech = segment.speech
        frames = segment.frames + round(s.pause_after * fps)
        plan = StoryPlan(i, s, segment, at, frames, clean, s.avatar or default_avatar)
        plan.cues = build_cues(clean, speech.words, fps, offset=at * spf) if clean else []
        plans.append(plan)
        at += frames
        if progress:
            progress("speech", i, 1.0)
    outro = round(CARD_SECONDS * fps) if gfx.outro else 0
    total = at + outro

    # The studio, with every graphic scheduled in program frames.
    first = anchors[plans[0].avatar]
    label = prog.disclosure.label or AI_LABEL.get(locale, AI_LABEL["en"])
    background = _background(rundown, W, H)
    loops: list[VideoLoop] = [background] if isinstance(background, VideoLoop) else []
    comp = Compositor(
        layout, first.renderer.size, first.solo, first.beside, background=background, style=style, label=label, fps=fps
    )
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

    content_id = content_id or str(uuid.uuid4())
    on_screen = [packs[plans[0].avatar], *(packs[n] for n in sorted({p.avatar for p in plans} - {plans[0].avatar}))]
    prov = pipeline.output_provenance(
        content_id=content_id,
        presenters=on_screen,
        scripts=[p.text for p in plans if p.text],
        language=locale,
        voice=plans[0].speech.voice,
        title=prog.title,
        kind="bulletin",
    )
    # Who is on screen at each frame: a story's avatar for its frames, the first before, the last after.
    timeline = ProgramTimeline(first.renderer, comp, fps, mark=prov.watermarker.embed if prov.watermarker else None)
    starts = {p.start: p for p in plans}
    who = [plans[0].avatar] * total
    story_of = np.full(total, -1, np.int64)
    for p in plans:
        who[p.start : p.start + p.frames] = [p.avatar] * p.frames
        story_of[p.start : p.start + p.frames] = p.index
    who[at:] = [plans[-1].avatar] * outro
    story_of[at:] = len(plans)

    meta = disclosure_tags(locale, content_id)
    meta.update({"title": prog.title, "network": prog.channel, "ai_label": label})
    v = pipeline.settings.video
    current = plans[0].avatar
    try:
        with Mp4Sink(
            output, W, H, fps, crf=v.crf, preset=v.preset, threads=v.threads, metadata=meta, finalize=prov.finalize
        ) as sink:
            for n in range(total):
                if who[n] != current:
                    current = who[n]
                    a = anchors[current]
                    timeline.set_anchor(a.renderer, a.solo, a.beside)
                if n in starts:
                    timeline.play(starts[n].segment)
                sink.write(*timeline.next_frame())
                if progress and (n % 10 == 0 or n + 1 == total or story_of[n + 1] != story_of[n]):
                    _report(progress, story_of, plans, n, intro, outro, at)
    finally:
        for loop in loops:
            loop.close()
    srt, vtt = write_captions(output, cues, locale)
    return RenderResult(output, srt, vtt, total, fps, W, H, tuple(plans), tuple(cues), meta)


def _report(
    progress: Progress, story_of: np.ndarray, plans: list[StoryPlan], n: int, intro: int, outro: int, at: int
) -> None:
    k = int(story_of[n])
    if k == -1:
        progress("render", -1, (n + 1) / max(1, intro))
    elif k == len(plans):
        progress("render", k, (n - at + 1) / max(1, outro))
    else:
        p = plans[k]
        progress("render", k, (n - p.start + 1) / p.frames)
