"""AI-generated disclosure: the machine-readable marks every output carries."""

from __future__ import annotations

import uuid

import anchor

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
