"""How a job looks from outside: the document the API returns and webhooks send, and the base URL in its links."""

from __future__ import annotations

from typing import Any

from anchor.config import ApiSettings
from anchor.jobs.files import CAPTION_FILES, VIDEO_FILE
from anchor.jobs.records import JobRecord

WEBHOOK_INTERNAL = {"claimed_by", "claimed_until"}
"""Webhook fields that coordinate senders and are not shown to API clients."""


def api_base_url(api: ApiSettings) -> str:
    """Base URL of the API in links and webhooks: `public_url`, else http://host:port."""
    return (api.public_url or f"http://{api.host}:{api.port}").rstrip("/")


def job_document(record: JobRecord, base: str) -> dict[str, Any]:
    """The job as the API shows it (and webhooks send it)."""
    url = f"{base}/v1/videos/{record.id}"
    links: dict[str, str] = {"self": url}
    if record.state == "completed":
        if VIDEO_FILE in record.outputs:
            links["video"] = f"{url}/{VIDEO_FILE}"
        for kind, name in CAPTION_FILES.items():
            if name in record.outputs:
                links[f"captions_{kind}"] = f"{url}/{name}"
    spec = record.spec.model_dump(exclude_none=True)
    return {
        "id": record.id,
        "object": "video",
        "state": record.state,
        "stage": record.stage,
        "percent": record.percent,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "attempts": record.attempts,
        "worker": record.worker,
        "error": record.error.model_dump() if record.error else None,
        "duration_s": record.duration_s,
        "frames": record.frames,
        "request": spec,
        "callback_url": record.callback_url,
        "webhook": record.webhook.model_dump(exclude=WEBHOOK_INTERNAL) if record.webhook else None,
        "links": links,
    }
