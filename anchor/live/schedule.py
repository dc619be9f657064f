"""When each waiting item is expected to go on air, and how long it lasts: for the control room.

`plan()` walks the play order the channel follows — the item on air finishes, then due interrupts,
due scheduled items (by time, higher priority first) and the rest by position; an item scheduled
later waits for its time, the host idling meanwhile — adding each item's duration. A duration is
exact once the item's preparation is complete, scaled up from the sentences made so far while it
is being prepared, and estimated from the length of its text (or the length of its audio file)
before that. It is a forecast read from plain data, so it never touches the air.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from anchor.live.items import PENDING_STATES, Item
from anchor.speech.text import sentence_bounds

log = logging.getLogger(__name__)

SECONDS_PER_CHAR = 0.07
"""Speaking time of one letter, space or mark of alphabetic text (measured: 0.066-0.077 s, English voices)."""
SECONDS_PER_CJK_CHAR = 0.27
"""Speaking time of one Han / kana / hangul character (measured: 0.28 s, Mandarin voices, punctuation included)."""


@dataclass(frozen=True)
class Slot:
    """One item's place in the forecast: its duration, and when it starts (None: not known)."""

    item_id: int
    duration_s: float | None
    estimated: bool  # the duration (and so what follows) is an estimate, not the prepared length
    starts_at: datetime | None

    def as_dict(self, now: datetime) -> dict[str, object]:
        """For the queue listing: seconds, ISO time and seconds from `now` until the start."""
        return {
            "duration_s": None if self.duration_s is None else round(self.duration_s, 1),
            "duration_estimated": self.estimated,
            "expected_start_at": None if self.starts_at is None else self.starts_at.isoformat(),
            "starts_in_s": None if self.starts_at is None else round((self.starts_at - now).total_seconds(), 1),
        }


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x3000 <= o <= 0x30FF
        or 0x3400 <= o <= 0x9FFF
        or 0xAC00 <= o <= 0xD7AF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF
    )


def text_seconds(text: str) -> float:
    """How long speaking `text` takes, roughly (no synthesis: a per-character rate by script)."""
    cjk = sum(1 for ch in text if _is_cjk(ch))
    return cjk * SECONDS_PER_CJK_CHAR + (len(text.strip()) - cjk) * SECONDS_PER_CHAR


@lru_cache(maxsize=256)
def _probe(path: str, mtime_ns: int) -> float | None:
    import av  # PyAV: only the container header is read

    try:
        with av.open(path) as f:
            if f.duration is not None:
                return f.duration / 1_000_000
            stream = f.streams.audio[0] if f.streams.audio else None
            if stream is not None and stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
    except (av.FFmpegError, IndexError) as e:  # an unreadable file fails at preparation with its own message
        log.info("cannot read the length of %s: %s", path, e)
    return None


def audio_seconds(path: str) -> float | None:
    """The length of an audio file from its header (cached per file version), None when unknown."""
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError:
        return None
    return _probe(path, mtime)


def _num(status: Mapping[str, object], key: str) -> float:
    value = status.get(key)
    return float(value) if isinstance(value, int | float) else 0.0


def item_duration(
    item: Item, prep: Mapping[str, object] | None, audio_length: Callable[[str], float | None] = audio_seconds
) -> tuple[float | None, bool]:
    """(seconds, estimated) for `item` given its preparation status (`Preparation.status()`), if any."""
    if prep is not None:
        ready, made, expected = (
            _num(prep, "seconds_ready"),
            int(_num(prep, "sentences_ready")),
            int(_num(prep, "sentences")),
        )
        if prep.get("complete") or (made > 0 and made >= expected):
            return ready, not prep.get("complete")
        if made > 0 and item.text is not None:
            # The sentences made so far calibrate the text estimate of the rest.
            bounds = sentence_bounds(item.text)
            if expected == len(bounds):
                cut = bounds[made][0]
                done = text_seconds(item.text[:cut])
                rate = ready / done if done > 0 else 1.0
                return ready + rate * text_seconds(item.text[cut:]), True
    if item.text is not None:
        return text_seconds(item.text), True
    if item.audio_path is not None:
        return audio_length(item.audio_path), True
    return None, True


def _due_key(item: Item) -> tuple[int, float, int, int, int]:
    """The channel's order among due items (ScriptQueue.next_due): interrupts, scheduled, the rest."""
    if item.mode == "interrupt":
        return (0, 0.0, 0, item.position, item.id)
    if item.schedule_at is not None:
        return (1, item.schedule_at.timestamp(), -item.priority, item.position, item.id)
    return (2, 0.0, 0, item.position, item.id)


def plan(
    items: Sequence[Item],
    preparation: Mapping[int, Mapping[str, object]],
    *,
    now: datetime,
    on_air: int | None = None,
    position_s: float = 0.0,
    on_air_duration_s: float | None = None,
    paused: bool = False,
    audio_length: Callable[[str], float | None] = audio_seconds,
) -> dict[int, Slot]:
    """A Slot for every playing and waiting item of `items` (held and finished ones are left out).

    `on_air` is the item on the timeline, `position_s` how far it has played and `on_air_duration_s`
    its whole length when known (an item resumed after an interrupt counts from where it resumed). While `paused`
    nothing new starts, so waiting items get a duration but no start time."""
    now = now.astimezone(UTC)
    slots: dict[int, Slot] = {}
    t: datetime | None = now
    estimated = False
    waiting = [i for i in items if i.state in PENDING_STATES and i.id != on_air]
    playing = next((i for i in items if i.id == on_air), None)
    if playing is not None:
        duration, estimated = item_duration(playing, preparation.get(playing.id), audio_length)
        if on_air_duration_s is not None:
            duration, estimated = on_air_duration_s, False
        slots[playing.id] = Slot(playing.id, duration, estimated, now - timedelta(seconds=position_s))
        t = None if duration is None else now + timedelta(seconds=max(0.0, duration - position_s))
    if any(i.mode == "interrupt" and (i.schedule_at is None or i.schedule_at <= now) for i in waiting):
        t = now  # a due interrupt cuts in at once
    while waiting:
        due = [i for i in waiting if i.schedule_at is None or (t is not None and i.schedule_at <= t)]
        if not due and t is not None:
            t = min(i.schedule_at for i in waiting if i.schedule_at is not None)  # the host idles until then
            continue
        item = min(due or waiting, key=_due_key)
        waiting.remove(item)
        duration, guessed = item_duration(item, preparation.get(item.id), audio_length)
        starts = None if paused or t is None else t
        slots[item.id] = Slot(item.id, duration, guessed or estimated, starts)
        estimated = estimated or guessed
        t = None if t is None or duration is None else t + timedelta(seconds=duration)
    return slots
