"""Run one video job: claim it, render it with `say`, record progress, the outcome and the files.

Used by both the embedded worker pool and `anchor worker`. Safe to run again for a job whose
previous worker died: claiming counts the attempt, and only the worker that holds the job may
finish it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anchor.config import Settings
from anchor.errors import AnchorError, BackendError, InputError
from anchor.jobs.files import CAPTION_FILES, VIDEO_FILE, JobFiles
from anchor.jobs.records import JobError, JobRecord, now, overall_percent
from anchor.jobs.store import JobStore
from anchor.program.bulletin import render_rundown
from anchor.program.clip import SayRequest, say
from anchor.program.pipeline import Pipeline
from anchor.rundown.load import parse_rundown
from anchor.storage import sweep_parts

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.25

FinalHook = Callable[[JobRecord], None]


class JobCancelled(Exception):
    """Raised inside the render when the job was cancelled or deleted meanwhile."""


class JobTakenOver(Exception):
    """Another worker claimed this job (we were presumed dead); stop without touching it."""


@dataclass
class JobContext:
    """What running a job needs; one per worker process (or per embedded pool).

    The pipeline (speech backend, mouth planner with its model, avatars) is built once and
    shared by every job this context runs."""

    settings: Settings
    store: JobStore
    files: JobFiles
    on_final: FinalHook | None = None
    pipeline: Pipeline = field(init=False)

    def __post_init__(self) -> None:
        self.pipeline = Pipeline(self.settings)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def build_say_request(record: JobRecord, job_dir: Path) -> SayRequest:
    """The clip a job's spec asks for, writing into the job folder."""
    spec = record.spec
    return SayRequest(
        text=spec.text or "",
        output=job_dir / VIDEO_FILE,
        avatar=spec.avatar,
        language=spec.language,
        voice=spec.voice,
        rate=spec.rate,
        pitch=spec.pitch,
        width=spec.width,
        height=spec.height,
        audio=job_dir / spec.audio_file if spec.audio_file else None,
        captions=spec.captions,
        background=spec.background,
        background_image=job_dir / spec.background_image_file if spec.background_image_file else None,
    )


def run_job(ctx: JobContext, job_id: str, worker: str | None = None) -> JobRecord | None:
    """Run job `job_id` to a final state (unless it is already final, gone, or taken over)."""
    me = worker or worker_name()

    def claim(r: JobRecord) -> JobRecord | None:
        if r.final:
            return None
        return r.touch(
            state="processing",
            stage="speech",
            percent=0.0,
            attempts=r.attempts + 1,
            worker=me,
            started_at=now(),
            error=None,
        )

    record = ctx.store.mutate(job_id, claim)
    if record is None or record.state != "processing" or record.worker != me:
        return record
    job_dir = ctx.files.job_dir(job_id, create=True)
    sweep_parts(job_dir)  # a previous attempt's temporary files: this worker owns the job now
    log.info("job %s: attempt %d on %s", job_id, record.attempts, me)

    last: dict[str, Any] = {"t": 0.0, "stage": ""}

    def progress(stage: str, fraction: float) -> None:
        if stage == "render" and fraction >= 1.0:
            stage, fraction = "encode", 0.0  # the sink flushes the encoder after the last frame
        t = time.monotonic()
        if stage == last["stage"] and t - last["t"] < PROGRESS_INTERVAL_S:
            return
        last.update(t=t, stage=stage)
        pct = overall_percent(stage, fraction)

        def update(r: JobRecord) -> JobRecord | None:
            if r.state != "processing" or r.worker != me:
                return None
            return r.touch(stage=stage, percent=max(r.percent, pct))

        _check_still_ours(ctx.store.mutate(job_id, update), me)

    try:
        if record.spec.rundown is not None:
            outputs, duration, frames = _render_rundown_job(ctx, record, job_dir, progress)
        else:
            request = build_say_request(record, job_dir)
            result = say(ctx.pipeline, request, progress)
            outputs = [VIDEO_FILE, *_collect_captions(result.captions, job_dir)]
            duration = float(result.speech.duration)
            frames = int(result.frames)
    except (JobCancelled, JobTakenOver) as e:
        log.info("job %s: stopped (%s)", job_id, type(e).__name__)
        current = ctx.store.get(job_id)
        if current is None:
            ctx.files.remove(job_id)  # deleted while running: leave nothing behind
        elif current.state == "cancelled":
            _remove_outputs(job_dir)
        return current
    except InputError as e:
        return _finish(ctx, job_id, me, state="failed", error=JobError(message=str(e), field=e.field))
    except BackendError as e:
        return _finish(ctx, job_id, me, state="failed", error=JobError(message=str(e), retryable=e.retryable))
    except (AnchorError, OSError, ValueError, RuntimeError) as e:
        log.exception("job %s failed", job_id)
        return _finish(
            ctx, job_id, me, state="failed", error=JobError(message=f"rendering failed: {e}", retryable=True)
        )
    return _finish(ctx, job_id, me, state="completed", outputs=outputs, duration_s=duration, frames=frames)


def _render_rundown_job(
    ctx: JobContext, record: JobRecord, job_dir: Path, progress: Callable[[str, float], None]
) -> tuple[list[str], float, int]:
    """A rundown job: render the bulletin; its captions land beside the video."""
    rundown = parse_rundown(record.spec.rundown)
    n = max(1, len(rundown.stories))

    def story_progress(stage: str, story: int, fraction: float) -> None:
        done = 0.0 if story < 0 else 1.0 if story >= n else (story + fraction) / n
        progress(stage, min(done, 0.999) if stage == "render" else done)

    result = render_rundown(ctx.pipeline, rundown, job_dir / VIDEO_FILE, story_progress, content_id=record.id)
    outputs = [VIDEO_FILE]
    if record.spec.captions:
        outputs += _collect_captions((result.srt, result.vtt), job_dir)
    else:
        for p in (result.srt, result.vtt):
            p.unlink(missing_ok=True)
    return outputs, result.frames / result.fps, int(result.frames)


def _check_still_ours(record: JobRecord | None, me: str) -> None:
    if record is None or record.state == "cancelled":
        raise JobCancelled()
    if record.worker != me or record.state != "processing":
        raise JobTakenOver()


def _finish(ctx: JobContext, job_id: str, me: str, **changes: Any) -> JobRecord | None:
    def done(r: JobRecord) -> JobRecord | None:
        if r.state != "processing" or r.worker != me:
            return None
        stage = "done" if changes["state"] == "completed" else r.stage
        pct = 100.0 if changes["state"] == "completed" else r.percent
        return r.touch(stage=stage, percent=pct, finished_at=now(), **changes)

    record = ctx.store.mutate(job_id, done)
    if record is None:
        ctx.files.remove(job_id)
        return None
    if record.state == changes["state"] and record.worker == me and ctx.on_final is not None:
        ctx.on_final(record)
    if record.state == "cancelled":
        _remove_outputs(ctx.files.job_dir(job_id))
    return record


def _collect_captions(paths: Sequence[Path], job_dir: Path) -> list[str]:
    """The render's caption files moved to their fixed names (captions.srt / captions.vtt)."""
    found: list[str] = []
    for kind, name in CAPTION_FILES.items():
        target = job_dir / name
        for p in paths:
            if p.suffix.lower() == f".{kind}" and p.is_file() and p.resolve() != target.resolve():
                os.replace(p, target)
                break
        if target.is_file():
            found.append(name)
    return found


def _remove_outputs(job_dir: Path) -> None:
    for name in (VIDEO_FILE, *CAPTION_FILES.values()):
        (job_dir / name).unlink(missing_ok=True)
