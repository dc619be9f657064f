"""What goes into the channel's script queue: submitted items, stored items, recurrences, states.

`ItemIn` is what a user submits (API body, CLI, channel file); `Item` is what the queue
stores and hands back. Recurring entries and playlist entries are stored `Item`s too, but
they are templates: they never play themselves, the queue spawns ordinary items from them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from anchor.errors import InputError
from anchor.speech.text import require_speakable

MAX_TEXT_CHARS = 5000

Mode = Literal["append", "next", "interrupt"]
InterruptAt = Literal["now", "sentence"]
ItemState = Literal["held", "queued", "preparing", "ready", "playing", "played", "failed", "skipped"]

PENDING_STATES: tuple[ItemState, ...] = ("queued", "preparing", "ready")
"""States of an item still waiting for its turn."""
FINAL_STATES: tuple[ItemState, ...] = ("played", "failed", "skipped")

TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    "held": frozenset(),
    "queued": frozenset({"preparing", "skipped", "failed"}),
    "preparing": frozenset({"ready", "skipped", "failed"}),
    "ready": frozenset({"playing", "skipped", "failed"}),
    "playing": frozenset({"played", "skipped", "failed", "ready"}),
    "played": frozenset(),
    "failed": frozenset(),
    "skipped": frozenset(),
}
"""Transitions the channel may request (playing -> ready: an interrupted item that will resume).
More exist only inside the queue: an edit sends a preparing/ready item back to queued (its
preparation is stale), and crash recovery sends preparing/ready/playing items back to queued.
`held` (the content policy wants an operator to look first) is entered by
`ScriptQueue.add(..., hold=True)` or `hold()` and left only by an operator: `approve()` (to queued)
or `reject()` (to skipped); the channel never plays it."""


def check_transition(item_id: int, old: ItemState, new: ItemState) -> None:
    """Raise InputError (field "state") unless `old -> new` is a legal transition."""
    if new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(TRANSITIONS[old])) or "nothing (final state)"
        raise InputError(
            f"item {item_id} cannot go from {old} to {new}; from {old} it may go to {allowed}", field="state"
        )


def _field_error(field: str, message: str, value: object) -> ValidationError:
    """A pydantic ValidationError located at `field` (model-level checks would otherwise have no location)."""
    return ValidationError.from_exception_data(
        "ItemIn", [InitErrorDetails(type=PydanticCustomError("invalid", message), loc=(field,), input=value)]
    )


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


class Recurrence(BaseModel):
    """When a recurring entry fires: exactly one of every_minutes, hourly_at_minute, daily_at.

    Wall-clock rules (hourly/daily) are evaluated in `timezone`, so "daily at 06:00" in
    Europe/Berlin stays at 06:00 local across DST changes. A daily time that does not exist
    on a spring-forward day fires at the corresponding instant after the jump; one that
    exists twice on a fall-back day fires once, at the first occurrence. `every_minutes`
    counts absolute minutes from the previous fire time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    every_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    hourly_at_minute: int | None = Field(default=None, ge=0, le=59)
    daily_at: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown timezone {name!r} (use an IANA name such as Europe/Berlin)") from e
        return name

    @model_validator(mode="after")
    def _exactly_one_rule(self) -> Recurrence:
        rules = [self.every_minutes, self.hourly_at_minute, self.daily_at]
        if sum(r is not None for r in rules) != 1:
            raise _field_error(
                "every_minutes", "give exactly one of every_minutes, hourly_at_minute, daily_at", self.model_dump()
            )
        return self

    def next_after(self, after: datetime, *, phase: datetime | None = None) -> datetime:
        """The first fire time strictly after `after` (aware), in UTC.

        `phase` anchors `every_minutes` (fire times are phase + k * every_minutes); it
        defaults to `after`, i.e. the first fire is one period later.
        """
        after = _utc(after)
        if self.every_minutes is not None:
            period = timedelta(minutes=self.every_minutes)
            start = _utc(phase) if phase is not None else after
            if start > after:
                return start
            return start + period * ((after - start) // period + 1)
        tz = ZoneInfo(self.timezone)
        if self.hourly_at_minute is not None:
            return self._next_hourly(after, tz, self.hourly_at_minute)
        assert self.daily_at is not None
        return self._next_daily(after, tz, time.fromisoformat(self.daily_at))

    def first_at_or_after(self, t: datetime) -> datetime:
        """The first fire time at or after `t` (for `every_minutes`: `t` itself)."""
        if self.every_minutes is not None:
            return _utc(t)
        return self.next_after(t - timedelta(microseconds=1))

    @staticmethod
    def _next_hourly(after: datetime, tz: ZoneInfo, minute: int) -> datetime:
        # Step in absolute (UTC) time so repeated or skipped local hours around DST are
        # each handled once; a few iterations cover offset changes inside the hour.
        t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(4):
            local_minute = t.astimezone(tz).minute
            t += timedelta(minutes=(minute - local_minute) % 60)
            if t.astimezone(tz).minute == minute:
                return t
        raise AssertionError("no hourly fire time found")  # pragma: no cover - offsets are whole minutes

    @staticmethod
    def _next_daily(after: datetime, tz: ZoneInfo, at: time) -> datetime:
        day: date = after.astimezone(tz).date() - timedelta(days=1)
        for _ in range(4):
            candidate = _utc(datetime.combine(day, at, tzinfo=tz))
            if candidate > after:
                return candidate
            day += timedelta(days=1)
        raise AssertionError("no daily fire time found")  # pragma: no cover


class ItemIn(BaseModel):
    """A script item as a user submits it.

    Exactly one of `text` / `audio_path`. `language` None means detect. `priority`: higher
    plays first. `mode`: append (end of its priority), next (first in line), interrupt
    (first in line, and the channel cuts in `interrupt_at` now or at the end of the current
    sentence). `schedule_at`: wall-clock time before which the item waits and at which it
    goes first. `recurrence` makes this a recurring entry (a template that spawns an item
    each time it fires; `schedule_at` then is its earliest first firing). `playlist` makes
    this an entry of a named playlist, played only by the idle policy. `avatar` presents this item
    with another avatar than the channel's; `interrupt_policy` overrides the channel's.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    audio_path: str | None = Field(default=None, min_length=1, max_length=4096)
    language: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")
    voice: str | None = Field(default=None, min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    priority: int = Field(default=0, ge=-1000, le=1000)
    mode: Mode = "append"
    interrupt_at: InterruptAt = "now"
    schedule_at: AwareDatetime | None = None
    recurrence: Recurrence | None = None
    playlist: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
    avatar: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Default: the channel's."
    )
    interrupt_policy: Literal["skip", "resume"] | None = Field(
        default=None, description="When an interrupt cuts this item: skip it or resume it (default: the channel's)."
    )

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, text: str | None) -> str | None:
        if text is not None and not text.strip():
            raise ValueError("text is empty")
        return text

    @field_validator("schedule_at")
    @classmethod
    def _schedule_in_utc(cls, dt: datetime | None) -> datetime | None:
        return None if dt is None else _utc(dt)

    @model_validator(mode="after")
    def _consistent(self) -> ItemIn:
        if (self.text is None) == (self.audio_path is None):
            raise _field_error("text", "give exactly one of text or audio_path", self.text)
        if self.playlist is not None:
            if self.recurrence is not None:
                raise _field_error("playlist", "a playlist entry cannot also be recurring", self.playlist)
            if self.mode != "append":
                raise _field_error("mode", "playlist entries are played in order; mode must be append", self.mode)
            if self.schedule_at is not None:
                raise _field_error("schedule_at", "playlist entries cannot be scheduled", self.schedule_at)
        return self

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ItemIn:
        """Validate user data; errors become InputError naming the first offending field. Text must
        hold words to speak by the rule every speech backend applies (`require_speakable`)."""
        try:
            item = cls.model_validate(data)
        except ValidationError as e:
            raise input_error(e) from e
        if item.text is not None:
            require_speakable(item.text, max_chars=MAX_TEXT_CHARS)
        return item


def input_error(e: ValidationError) -> InputError:
    """Turn a pydantic ValidationError into an InputError whose `field` is the first error's location."""
    first = e.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return InputError(f"{field or 'item'}: {first['msg']}{more}", field=field)


class Item(ItemIn):
    """A stored queue item.

    `position` orders pending items (lower plays earlier); `reason` says why an item failed
    or was skipped; `attempts` counts playbacks cut short by a restart and replayed;
    `revision` grows on every edit so the channel can drop a stale preparation. `policy` is
    the content policy's decision (`PolicyDecision.as_dict()`, plus `approved_by` /
    `approved_at` once an operator approved a held item). Templates (recurring or playlist
    entries) stay `queued` forever (or `held` until approved); `source_id` on a spawned item
    names its template; `next_fire_at` / `last_fired_at` belong to recurring entries.
    """

    id: int
    state: ItemState = "queued"
    position: int = 0
    created_at: AwareDatetime
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    reason: str | None = None
    attempts: int = 0
    revision: int = 0
    source_id: int | None = None
    next_fire_at: AwareDatetime | None = None
    last_fired_at: AwareDatetime | None = None
    policy: dict[str, Any] | None = None

    @property
    def is_template(self) -> bool:
        """True for recurring and playlist entries, which never play themselves."""
        return self.recurrence is not None or self.playlist is not None

    @property
    def is_final(self) -> bool:
        """True once the item has played, failed or been skipped."""
        return self.state in FINAL_STATES

    def spec(self) -> ItemIn:
        """The submitted part of this item."""
        return ItemIn.model_validate(self.model_dump(include=set(ItemIn.model_fields)))
