"""A source's rules applied to its entries: keywords, age, how many per poll."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from anchor.feeds.config import SourceRules


@dataclass(frozen=True)
class Candidate:
    """An entry reduced to what the rules look at."""

    key: str
    text: str
    when: datetime


def _mentions(text: str, words: Sequence[str]) -> bool:
    lowered = text.casefold()
    for word in words:
        w = word.casefold().strip()
        if not w:
            continue
        if re.search(r"[\u4e00-\u9fff]", w):
            if w in lowered:  # Chinese has no word boundaries
                return True
        elif re.search(rf"(?<!\w){re.escape(w)}(?!\w)", lowered):
            return True
    return False


def keep(rules: SourceRules, text: str, when: datetime, now: datetime) -> bool:
    """True when an entry with this text and date passes the keyword and age rules."""
    if rules.include and not _mentions(text, rules.include):
        return False
    if rules.exclude and _mentions(text, rules.exclude):
        return False
    return not (rules.max_age_hours is not None and now - when > timedelta(hours=rules.max_age_hours))


def newest_first(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Candidates by date, newest first (feed order breaks ties, so a re-ordered feed changes nothing)."""
    return sorted(candidates, key=lambda c: (c.when, c.key), reverse=True)
