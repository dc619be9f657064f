"""AI-generated disclosure: the machine-readable marks every output carries."""

from __future__ import annotations

import uuid
from pathlib import Path

import av

import anchor
from anchor.errors import InputError

AI_LABEL = {"en": "AI-generated", "zh": "AI生成"}


def disclosure_tags(language: str, content_id: str | None = None) -> dict[str, str]:
    """Container metadata stating the content is AI-generated, by what software, with a content id."""
    return {
        "ai_generated": "true",
        "generator": f"anchor {anchor.__version__}",
        "content_id": content_id or str(uuid.uuid4()),
        "comment": "AI-generated: synthetic presenter voice and face (anchor).",
        "language": language,
    }


AI_KEYS = ("ai_generated", "generator", "content_id", "ai_label", "comment", "language", "title", "network")
"""Container metadata keys that carry the AI marks."""


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
        detail = getattr(e, "strerror", None) or e
        raise InputError(f"{path} is not a media file (FFmpeg cannot read it: {detail})", field="file") from None
