"""Video job records: what a job asked for, where it is, and what it produced.

A record is a plain pydantic model serialised as JSON by every store (SQLite or Redis), so the
API process and any worker see the same thing.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

JobState = Literal["queued", "processing", "completed", "failed", "cancelled"]
FINAL_STATES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
STAGES = ("queued", "speech", "lipsync", "render", "encode", "done")

# Share of the overall percent each stage starts at; render dominates the wall time.
STAGE_START = {"speech": 0.0, "lipsync": 4.0, "render": 6.0, "encode": 97.0, "done": 100.0}
STAGE_SPAN = {"speech": 4.0, "lipsync": 2.0, "render": 91.0, "encode": 3.0, "done": 0.0}


def new_job_id() -> str:
    """A random, URL- and file-name-safe job id ("vid_" + 20 hex digits)."""
    return "vid_" + secrets.token_hex(10)


def now() -> float:
    return time.time()


class VideoSpec(BaseModel):
    """The validated parameters of one text-to-anchor video (what the worker renders)."""

    text: str | None = None
    audio_file: str | None = Field(None, description="Name of the uploaded audio inside the job folder.")
    avatar: str | None = None
    voice: str | None = None
    language: str | None = None
    rate: int | None = None
    pitch: int | None = None
    width: int | None = None
    height: int | None = None
    captions: bool = True
    background: str | None = None
    background_image_file: str | None = Field(
        None, description="Name of the uploaded backdrop picture inside the job folder."
    )
    rundown: dict[str, Any] | None = Field(
        None, description="A full rundown (anchor/rundown/model.py) instead of text."
    )


class JobError(BaseModel):
    """Why a job failed: a message a person understands, and the request field at fault if any."""

    message: str
    field: str | None = None
    retryable: bool = False


WEBHOOK_STATES: frozenset[str] = frozenset({"completed", "failed"})
"""Final states that send an event to the job's callback_url (a cancelled job sends none)."""


class WebhookStatus(BaseModel):
    """Delivery of the job's completed/failed event to its callback_url.

    `claimed_by` / `claimed_until` say which webhook sender holds the delivery and until when
    (wall-clock seconds); another sender may take it over only after that (anchor/jobs/webhooks.py).
    """

    url: str
    event: str | None = None
    delivery_id: str | None = None
    attempts: int = 0
    delivered: bool = False
    given_up: bool = False
    last_status: int | None = None
    last_error: str | None = None
    last_attempt_at: float | None = None
    claimed_by: str | None = None
    claimed_until: float | None = None


class JobRecord(BaseModel):
    """One video job as stored."""

    id: str
    owner: str = ""
    state: JobState = "queued"
    stage: str = "queued"
    percent: float = 0.0
    spec: VideoSpec
    callback_url: str | None = None
    created_at: float = Field(default_factory=now)
    updated_at: float = Field(default_factory=now)
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    worker: str | None = None
    error: JobError | None = None
    duration_s: float | None = None
    frames: int | None = None
    outputs: list[str] = Field(
        default_factory=list, description="File names in the job folder: video.mp4, captions.srt ..."
    )
    webhook: WebhookStatus | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def webhook_outstanding(self) -> bool:
        """A final job whose event is neither delivered nor given up (the stores index these)."""
        if self.state not in WEBHOOK_STATES or not self.callback_url:
            return False
        return self.webhook is None or not (self.webhook.delivered or self.webhook.given_up)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, data: str | bytes) -> JobRecord:
        return cls.model_validate_json(data)

    def touch(self, **changes: Any) -> JobRecord:
        """A copy with `changes` applied and updated_at set to now."""
        return self.model_copy(update={**changes, "updated_at": now()})


def overall_percent(stage: str, fraction: float) -> float:
    """Map a stage's own 0..1 progress onto the job's 0..100 percent."""
    fraction = min(1.0, max(0.0, fraction))
    return round(STAGE_START.get(stage, 0.0) + STAGE_SPAN.get(stage, 0.0) * fraction, 1)
