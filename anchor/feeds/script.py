"""A feed entry -> a story draft: its stable key, written headline and summary, spoken script.

The script is extractive (title + first sentences, about 20-40 s of speech) unless a
rewriter is given and answers. Every story goes through the content-policy hook
`check(text, language)`, which answers "allow", "hold" or "refuse" (or an object whose
`action` is one of those).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import datetime

from anchor.feeds.cleanup import clean_text, clean_title
from anchor.feeds.config import SourceConfig
from anchor.feeds.parse import FeedEntry
from anchor.feeds.speakable import speakable
from anchor.feeds.stories import Policy, StoryDraft
from anchor.speech.text import detect_language, split_sentences

PolicyCheck = Callable[[str, str], object]
"""check(text, language) -> "allow" | "hold" | "refuse" (or an object with such an `action`)."""
Rewrite = Callable[[str, str, str], "str | None"]
"""rewrite(title, text, language) -> a script, or None to fall back to the extractive one."""

SCRIPT_WORDS = {"en": (50, 100), "zh": (80, 170)}
"""(at least, at most) words — Han characters for Mandarin — of a 20-40 s script."""
SUMMARY_CHARS = 160


def allow_all(text: str, language: str) -> Policy:
    """The default content policy: everything is allowed."""
    return "allow"


def verdict(answer: object) -> Policy:
    """A policy hook's answer as "allow" | "hold" | "refuse" (anything else holds, to be safe)."""
    value = getattr(answer, "action", answer)
    value = getattr(value, "value", value)
    text = str(value).lower()
    return text if text in ("allow", "hold", "refuse") else "hold"  # type: ignore[return-value]


def story_key(entry: FeedEntry) -> str:
    """The entry's stable identity: its guid, else its link, else a hash of its content."""
    if entry.guid and entry.guid.strip():
        return "g:" + entry.guid.strip()
    if entry.link and entry.link.strip():
        return "l:" + entry.link.strip()
    return "h:" + content_hash(entry)


def content_hash(entry: FeedEntry) -> str:
    """A hash of what the entry says (title and text), to notice an updated entry."""
    body = f"{clean_title(entry.title)} {clean_text(entry.content or entry.summary)}"
    return hashlib.sha256(re.sub(r"\s+", " ", body).strip().encode("utf-8")).hexdigest()[:32]


def story_language(entry: FeedEntry, source: SourceConfig, text: str) -> str:
    """The source's language rule, else the entry's declared language, else detected from `text`."""
    if source.language:
        return source.language
    declared = (entry.language or "").lower()
    if declared.startswith(("zh", "cmn")):
        return "zh"
    if declared.startswith("en"):
        return "en"
    return detect_language(text)


def _size(text: str, language: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text)) if language == "zh" else len(text.split())


def _ends(text: str, language: str) -> str:
    if not text or text[-1] in ".!?。！？…\"'”’":
        return text
    return text + ("。" if language == "zh" else ".")


def extractive_script(title: str, body: str, language: str) -> str:
    """Title + the first sentences of `body`, within a 20-40 s reading (SCRIPT_WORDS)."""
    least, most = SCRIPT_WORDS.get(language, SCRIPT_WORDS["en"])
    parts = [_ends(title, language)] if title else []
    words = _size(title, language)
    head = title.rstrip(".!?。！？").casefold()
    for sentence in split_sentences(body):
        if head and sentence.rstrip(".!?。！？").casefold() == head:
            continue  # many feeds repeat the headline as the first line
        size = _size(sentence, language)
        if words >= least and words + size > most:
            break
        if words + size > most and len(parts) > 1:
            break
        parts.append(sentence)
        words += size
    joiner = "" if language == "zh" else " "
    return joiner.join(parts)


def summary_line(body: str, title: str) -> str:
    """The written subline: the first sentence(s) of `body` within SUMMARY_CHARS."""
    out = ""
    head = title.rstrip(".!?。！？").casefold()
    for sentence in split_sentences(body, max_chars=SUMMARY_CHARS):
        if sentence.rstrip(".!?。！？").casefold() == head:
            continue
        if out and len(out) + len(sentence) + 1 > SUMMARY_CHARS:
            break
        out = f"{out} {sentence}".strip() if out else sentence
    return out[:SUMMARY_CHARS]


def draft_story(
    entry: FeedEntry,
    source: SourceConfig,
    now: datetime,
    *,
    abbreviations: Mapping[str, Mapping[str, str]] | None = None,
    check: PolicyCheck = allow_all,
    rewrite: Rewrite | None = None,
    skipped: bool = False,
) -> StoryDraft:
    """The story for `entry` of `source`; entries without a date take `now`."""
    title = clean_title(entry.title)
    body = clean_text(entry.content or entry.summary)
    if not title:
        title = (split_sentences(body) or [""])[0][:120]
    language = story_language(entry, source, f"{title} {body}")
    script = None if skipped or rewrite is None else rewrite(title, body, language)
    if not script:
        script = extractive_script(title, body, language)
    spoken = speakable(script, language, (abbreviations or {}).get(language)).text
    return StoryDraft(
        key=story_key(entry),
        content_hash=content_hash(entry),
        title=title[:200],
        summary=summary_line(body, title),
        spoken=spoken[:4900],
        language=language,
        link=entry.link,
        image=entry.image,
        published_at=entry.published or entry.updated or now,
        priority=source.priority,
        destinations=tuple(source.to),
        policy="allow" if skipped else verdict(check(script, language)),
        skipped=skipped,
    )
