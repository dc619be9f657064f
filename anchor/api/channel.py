"""The channel control API: queue, say-now, pause/resume, now-playing, SSE events, metrics.

`channel_router(channel, keys)` returns an APIRouter; `anchor live` serves it at the root
(`channel_app`) and `anchor serve` mounts it under /v1/channels/{name}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from anchor.api.auth import KeyRing, Principal
from anchor.api.errors import ApiError, install_error_handlers
from anchor.api.metrics import channel_registry
from anchor.api.pages import mount_static, pages_router
from anchor.api.whep import whep_router
from anchor.errors import InputError
from anchor.live.channel import Channel
from anchor.live.config import OutputConfig
from anchor.live.intake import admit, amend
from anchor.live.items import ItemIn
from streaming.webrtc import WebRtcBroadcaster


class SayNow(BaseModel):
    """Say something right now: cut in at once, or at the end of the current sentence."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=5000)
    interrupt_at: Literal["now", "sentence"] = "now"
    language: str | None = None
    voice: str | None = None
    title: str | None = None


class Reject(BaseModel):
    """Why an operator refuses a held item."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field("rejected by operator", min_length=1, max_length=500)


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")
    before_id: int | None = None
    to_index: int | None = Field(None, ge=0)


def channel_keys(api_key: str | Mapping[str, str] | None) -> KeyRing:
    """The channel's keys: one control key, or named keys (the job API's under `anchor serve`)."""
    keys = {"control": api_key} if isinstance(api_key, str) else dict(api_key or {})
    return KeyRing(keys, allow_query=True)


def channel_router(channel: Channel, api_key: str | Mapping[str, str] | None = None) -> APIRouter:
    """Routes controlling one channel; with a key (or keys) configured, all but /metrics and /healthz need one."""
    queue = channel.queue
    policy = channel.pipeline.policy

    def _check_avatar(name: str | None) -> None:
        if name is not None and not channel.pipeline.avatars.exists(name):
            raise InputError(
                f"unknown avatar {name!r}; installed: {', '.join(channel.pipeline.avatars.names())}", field="avatar"
            )

    keys = channel_keys(api_key)
    guarded = APIRouter(dependencies=[Depends(keys.dependency())])
    open_routes = APIRouter()
    registry = channel_registry(channel)

    @guarded.get("/queue")
    def list_queue(history: int = 0) -> dict[str, Any]:
        """Waiting and playing items (each with how far its preparation is), and recent history."""
        items = queue.list()
        done = queue.history(history) if history else []
        preparing = channel.preparation()
        return {
            "items": [{**i.model_dump(mode="json"), "preparation": preparing.get(i.id)} for i in items],
            "history": [i.model_dump(mode="json") for i in done],
        }

    @guarded.post("/queue", status_code=201)
    def add_item(body: dict[str, Any]) -> dict[str, Any]:
        """Queue a script (it passes the content policy first: refused -> 422, needs review -> stored held)."""
        spec = ItemIn.parse(body)
        _check_avatar(spec.avatar)
        item = admit(queue, policy, spec)
        channel.nudge()
        return item.model_dump(mode="json")

    @guarded.get("/queue/{item_id}")
    def get_item(item_id: int) -> dict[str, Any]:
        return queue.get(item_id).model_dump(mode="json")

    @guarded.patch("/queue/{item_id}")
    def patch_item(item_id: int, body: dict[str, Any]) -> dict[str, Any]:
        if set(body) & {"before_id", "to_index"}:
            move = Move.model_validate(body)
            item = queue.move(item_id, before_id=move.before_id, to_index=move.to_index)
        else:
            _check_avatar(body.get("avatar") if isinstance(body.get("avatar"), str) else None)
            item = amend(queue, policy, item_id, body)
        channel.nudge()
        return item.model_dump(mode="json")

    @guarded.delete("/queue/{item_id}")
    def delete_item(item_id: int) -> dict[str, Any]:
        """Remove a waiting item (its preparation stops); the item on air is stopped instead (skipped)."""
        item = queue.get(item_id)
        if item.state == "playing" and channel.timeline.current_key == item_id:
            channel.skip()
            return {**item.model_dump(mode="json"), "stopping": True}
        removed = queue.remove(item_id).model_dump(mode="json")
        channel.nudge()
        return removed

    @guarded.post("/queue/{item_id}/approve")
    def approve_item(item_id: int, who: Principal = Depends(keys.dependency())) -> dict[str, Any]:
        """An operator releases an item the content policy held for review; it joins the queue."""
        item = queue.approve(item_id, by=who.key_name or "operator")
        channel.nudge()
        return item.model_dump(mode="json")

    @guarded.post("/queue/{item_id}/reject")
    def reject_item(item_id: int, body: Reject, who: Principal = Depends(keys.dependency())) -> dict[str, Any]:
        """An operator refuses a held item: it is skipped with the reason and never plays."""
        return queue.reject(item_id, body.reason, by=who.key_name or "operator").model_dump(mode="json")

    @guarded.post("/skip")
    def skip() -> dict[str, Any]:
        """Stop the item on air at the next frame; it is marked skipped and the queue goes on."""
        key = channel.skip()
        if key is None:
            raise ApiError(409, "nothing is on air to skip", field="item")
        return {"skipped": key}

    @guarded.post("/say-now", status_code=202)
    def say_now(body: SayNow) -> dict[str, Any]:
        item = admit(queue, policy, ItemIn.parse({**body.model_dump(), "mode": "interrupt"}))
        channel.nudge()
        return item.model_dump(mode="json")

    @guarded.get("/outputs")
    def list_outputs() -> dict[str, Any]:
        """The RTMP outputs (stream keys never shown), each enabled or stopped, with its state."""
        return {"outputs": [asdict(o) for o in channel.output_set.list()]}

    @guarded.post("/outputs", status_code=201)
    def add_output(body: OutputConfig) -> dict[str, Any]:
        """Start pushing to another rtmp:// URL (lasts until the channel stops; the channel file is permanent)."""
        return asdict(channel.output_set.add(body))

    @guarded.delete("/outputs/{output_id}")
    def remove_output(output_id: str) -> dict[str, Any]:
        return asdict(channel.output_set.remove(output_id))

    @guarded.post("/outputs/{output_id}/stop")
    def stop_output(output_id: str) -> dict[str, Any]:
        return asdict(channel.output_set.stop(output_id))

    @guarded.post("/outputs/{output_id}/start")
    def start_output(output_id: str) -> dict[str, Any]:
        return asdict(channel.output_set.start(output_id))

    @guarded.post("/pause")
    def pause() -> dict[str, Any]:
        channel.pause()
        return {"paused": True}

    @guarded.post("/resume")
    def resume() -> dict[str, Any]:
        channel.resume()
        return {"paused": False}

    @guarded.get("/now-playing")
    def now_playing() -> dict[str, Any]:
        return channel.now_playing()

    @guarded.get("/stats")
    def stats() -> dict[str, Any]:
        return channel.stats().as_dict()

    @guarded.get("/events")
    async def events() -> StreamingResponse:
        return StreamingResponse(
            channel.hub.subscribe(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @open_routes.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @open_routes.get("/healthz")
    def health() -> dict[str, Any]:
        return {"ok": channel.error is None, "program_time_s": channel.timeline.frame_index / channel.fps}

    router = APIRouter()
    router.include_router(guarded)
    router.include_router(open_routes)
    return router


def channel_app(channel: Channel, api_key: str | None = None, broadcaster: WebRtcBroadcaster | None = None) -> FastAPI:
    """A FastAPI app serving one channel: control API, WHEP viewing and the pages, at the root."""
    app = FastAPI(title="anchor channel control", version="1")
    install_error_handlers(app)
    app.include_router(channel_router(channel, api_key))
    if broadcaster is not None:
        app.include_router(whep_router(broadcaster))
    app.include_router(pages_router())
    mount_static(app)
    return app
