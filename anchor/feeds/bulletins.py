"""Bulletins on a schedule: when they fire, and what they hold (queue items or a rundown).

A bulletin is an intro, the newest unaired stories (headline on the lower-third, the
spoken script, the entry's image when it is local or from an allowed host) and an outro.
On the channel it is one queue item per part, all scheduled at the due time so they play
together as soon as the item on air ends; as a file it is a `Rundown` for the renderer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from anchor.feeds import numbers_en as en
from anchor.feeds.config import BulletinConfig
from anchor.feeds.speakable import speakable
from anchor.feeds.stories import StoryRecord
from anchor.rundown.model import Rundown

INTROS = {"en": "This is {title}. The headlines at {time}.", "zh": "这里是{title}。现在是{time}，为您播报新闻。"}
OUTROS = {"en": "That was {title} at {time}. More news on the hour.", "zh": "以上是{time}的{title}。感谢收看。"}
MISFIRE_GRACE = timedelta(minutes=10)
"""How late a bulletin may still fire (after downtime); older due times are dropped."""


def first_due(cfg: BulletinConfig, now: datetime, last_due: datetime | None) -> datetime:
    """The next due time: after the last one that fired (late by at most MISFIRE_GRACE), or after `now`."""
    rule = cfg.recurrence()
    if last_due is None:
        return rule.next_after(now)
    due = rule.next_after(last_due)
    while due < now - MISFIRE_GRACE:
        due = rule.next_after(due)
    return due


def next_due(cfg: BulletinConfig, after: datetime) -> datetime:
    """The due time following `after`."""
    return cfg.recurrence().next_after(after)


def spoken_time(at: datetime, language: str) -> str:
    """The clock time as an anchor says it: "six o'clock", "six thirty"; "十八点", "十八点三十分"."""
    if language == "zh":
        return speakable(f"{at.hour}:{at.minute:02d}", "zh").text
    hour = at.hour % 12 or 12
    if at.minute == 0:
        return f"{en.cardinal(hour)} o'clock"
    minute = f"oh {en.cardinal(at.minute)}" if at.minute < 10 else en.cardinal(at.minute)
    return f"{en.cardinal(hour)} {minute}"


def _bracket(cfg: BulletinConfig, due_at: datetime) -> tuple[str, str]:
    local = due_at.astimezone(ZoneInfo(cfg.timezone))
    fill = {"title": cfg.title, "time": spoken_time(local, cfg.language)}
    intro = (cfg.intro or INTROS[cfg.language]).format(**fill)
    outro = (cfg.outro or OUTROS[cfg.language]).format(**fill)
    return intro, outro


def plan_items(cfg: BulletinConfig, stories: Sequence[StoryRecord], due_at: datetime) -> list[dict[str, Any]]:
    """The queue items (ItemIn data) of one bulletin, in running order."""
    intro, outro = _bracket(cfg, due_at)
    common = {"language": cfg.language, "priority": cfg.priority, "schedule_at": due_at.isoformat()}
    items = [{"text": intro, "title": cfg.title, **common}]
    items += [{"text": s.spoken, "title": s.title, **common} for s in stories]
    items.append({"text": outro, "title": cfg.title, **common})
    return items


def plan_rundown(
    cfg: BulletinConfig,
    stories: Sequence[StoryRecord],
    due_at: datetime,
    images: Mapping[int, Path] | None = None,
) -> Rundown:
    """The bulletin as a rundown for the renderer (MP4 + captions). `images` maps story id -> local picture."""
    intro, outro = _bracket(cfg, due_at)
    local = due_at.astimezone(ZoneInfo(cfg.timezone))
    parts: list[dict[str, Any]] = [{"text": intro, "language": cfg.language, "headline": cfg.title[:120]}]
    for s in stories:
        picture = (images or {}).get(s.id)
        parts.append(
            {
                "text": s.spoken[:5000],
                "language": cfg.language,
                "headline": s.title[:120],
                "subline": s.summary[:160] or None,
                "media": {"image": picture} if picture is not None else None,
            }
        )
    parts.append({"text": outro, "language": cfg.language, "headline": cfg.title[:120]})
    programme = {
        "title": cfg.title,
        "locale": cfg.language,
        "ticker": [s.title for s in stories][:10],
        "graphics": {"clock_time": local.strftime("%H:%M:%S")},
    }
    return Rundown.model_validate({"programme": programme, "stories": parts})


def output_path(cfg: BulletinConfig, due_at: datetime) -> Path:
    """Where the rendered bulletin due at `due_at` goes."""
    local = due_at.astimezone(ZoneInfo(cfg.timezone))
    return cfg.output_dir / f"{cfg.name}-{local:%Y%m%d-%H%M}.mp4"
