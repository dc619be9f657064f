"""Request bodies of the HTTP API and their checks (what a person sent, turned into a VideoSpec)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from anchor.api.errors import ApiError
from anchor.config import BUILTIN_AVATARS, Settings, frame_size_problem
from anchor.errors import InputError
from anchor.face.avatar import AvatarStore
from anchor.jobs.records import VideoSpec
from anchor.rundown.load import parse_rundown
from anchor.rundown.ssml import split_breaks
from anchor.speech.text import require_speakable
from anchor.studio.backdrop import parse_background

SIZE_RE = re.compile(r"\s*(\d{2,4})\s*[xX×]\s*(\d{2,4})\s*")  # always fullmatch
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}


class VideoCreate(BaseModel):
    """POST /v1/videos. Send JSON, or multipart/form-data with the same fields plus an `audio` file
    instead of `text` and/or a `background_image` file instead of `background`."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="What the anchor says (English or Mandarin).")
    avatar: str | None = Field(None, description="Avatar name (GET /v1/avatars); default: the configured one.")
    voice: str | None = Field(None, description="Voice id (GET /v1/voices); default: the language's voice.")
    language: str | None = Field(None, description="en or zh; default: detected from the text.")
    size: str | None = Field(None, description="Frame size WxH, e.g. 1280x720 (even numbers).")
    aspect: Literal["16:9", "9:16", "1:1"] | None = Field(
        None, description="Instead of size: the aspect at the configured height."
    )
    rate: int | None = Field(None, ge=80, le=450, description="Words per minute.")
    pitch: int | None = Field(None, ge=0, le=99)
    captions: bool = Field(True, description="Also write SRT and WebVTT captions timed from the spoken words.")
    background: str | None = Field(
        None,
        description="Studio background: '#rrggbb' or a gradient '#rrggbb,#rrggbb' (default: the studio look); "
        "or upload a `background_image` file (multipart) instead.",
    )
    callback_url: str | None = Field(
        None, max_length=2000, description="POSTed the job when it completes or fails (signed)."
    )
    rundown: Any = Field(
        None,
        description="A full rundown (same schema as `anchor render`; `anchor render --schema` prints it) instead of text.",
    )


def to_spec(
    body: VideoCreate,
    settings: Settings,
    voices: list[dict[str, str]],
    *,
    has_audio: bool,
    has_background_image: bool = False,
) -> VideoSpec:
    """Check everything that can be checked before queueing; raise 4xx ApiErrors naming the field."""
    api = settings.api
    if body.rundown is not None:
        if has_background_image:
            raise ApiError(
                422,
                "background_image is for text/audio jobs; a rundown sets its own background",
                field="background_image",
            )
        return _rundown_spec(body, has_audio)
    if has_background_image and body.background is not None:
        raise ApiError(
            422,
            "send either background (a colour or gradient) or a background_image file, not both; pick one",
            field="background",
        )
    text = body.text.strip() if isinstance(body.text, str) else None
    if has_audio and text:
        raise ApiError(422, "send either text or an audio file, not both", field="text")
    if not has_audio:
        if not text:
            raise ApiError(422, "text is empty: say what the anchor should read", field="text")
        if len(text) > api.max_text_chars:
            raise ApiError(422, f"text is {len(text)} characters; the limit is {api.max_text_chars}", field="text")
        try:  # the rule every speech backend applies, so the worker never gets unspeakable text
            require_speakable(text, max_chars=api.max_text_chars)
        except InputError as e:
            raise ApiError(422, str(e), field="text") from None
    if body.background is not None:
        try:
            parse_background(body.background, 2, 2)
        except InputError as e:
            raise ApiError(422, str(e), field="background") from None

    avatar = body.avatar
    if avatar is not None:
        try:
            AvatarStore(settings.avatars_dir, BUILTIN_AVATARS).path_of(avatar)
        except InputError as e:  # an unknown name in a body is a 422, not a 404
            raise ApiError(422, str(e), field="avatar") from None

    languages = sorted({v["language"] for v in voices})
    if body.language is not None and body.language not in languages:
        raise ApiError(422, f"unknown language {body.language!r}; available: {', '.join(languages)}", field="language")
    if body.voice is not None:
        ids = {v["id"] for v in voices}
        if body.voice not in ids:
            raise ApiError(422, f"unknown voice {body.voice!r}; GET /v1/voices lists the installed ones", field="voice")

    width = height = None
    if body.size is not None and body.aspect is not None:
        raise ApiError(422, "give either size or aspect, not both", field="size")
    if body.size is not None:
        m = SIZE_RE.fullmatch(body.size)
        if not m:
            raise ApiError(422, f"size {body.size!r} must look like 1280x720", field="size")
        width, height = int(m.group(1)), int(m.group(2))
        problem = frame_size_problem(width, height)  # the encoder's real constraint, before any work
        if problem:
            raise ApiError(422, problem, field="size")
    elif body.aspect is not None:
        aw, ah = ASPECTS[body.aspect]
        short = min(settings.video.width, settings.video.height)
        width, height = (short * aw // ah, short) if aw >= ah else (short, short * ah // aw)
        width, height = width - width % 2, height - height % 4

    return VideoSpec(
        text=text or None,
        avatar=avatar,
        voice=body.voice,
        language=body.language,
        rate=body.rate,
        pitch=body.pitch,
        width=width,
        height=height,
        captions=body.captions,
        background=body.background,
    )


def _rundown_spec(body: VideoCreate, has_audio: bool) -> VideoSpec:
    """Validate a rundown job. Rundowns sent over HTTP may not name files on the server."""
    if has_audio or (isinstance(body.text, str) and body.text.strip()):
        raise ApiError(422, "send either a rundown or text/audio, not both", field="rundown")
    try:
        rundown = parse_rundown(body.rundown)
    except InputError as e:
        raise ApiError(
            422, str(e), field=f"rundown.{e.field}" if e.field and e.field != "rundown" else "rundown"
        ) from None
    prog = rundown.programme
    refs = [("programme.logo", prog.logo), ("programme.background.image", prog.background.image),
            ("programme.background.video", prog.background.video)]  # fmt: skip
    for i, story in enumerate(rundown.stories):
        refs.append((f"stories[{i}].audio", story.audio))
        if story.media:
            refs += [(f"stories[{i}].media.image", story.media.image), (f"stories[{i}].media.video", story.media.video)]
    for where, ref in refs:
        if ref is not None:
            raise ApiError(
                422,
                f"{where}: rundowns sent to the API cannot reference files on the server; leave it out",
                field=f"rundown.{where}",
            )
    for i, story in enumerate(rundown.stories):
        if story.text is None:
            continue
        field = f"rundown.stories[{i}].text"
        try:  # every piece between <break/> marks is spoken on its own: each must hold words (or nothing)
            for piece in split_breaks(story.text, field=field)[1]:
                if piece.text.strip():
                    require_speakable(piece.text, field=field)
        except InputError as e:
            raise ApiError(422, str(e), field=e.field or field) from None
    return VideoSpec(rundown=body.rundown, captions=body.captions)


def scripts_of(spec: VideoSpec) -> list[tuple[str, str, str | None]]:
    """(field, text, language) of every script a job will speak, for the content policy."""
    if spec.rundown is None:
        return [("text", spec.text, spec.language)] if spec.text else []
    out = []
    for i, story in enumerate(spec.rundown.get("stories", [])):
        text = story.get("text") if isinstance(story, dict) else None
        if isinstance(text, str) and text.strip():
            clean, _ = split_breaks(text, field=f"rundown.stories[{i}].text")
            out.append((f"rundown.stories[{i}].text", clean, story.get("language")))
    return out
