"""The channel control API: queue, say-now, pause/resume, now-playing, SSE events, metrics.

`channel_router(channel, keys)` returns an APIRouter; `anchor live` serves it at the root
(`channel_app`) and `anchor serve` mounts it under /v1/channels/{name}.

Audio for an item comes as an upload (POST /queue as multipart/form-data with an `audio` file,
kept in the channel's own media folder; the other fields as form fields, `recurrence` as JSON text) or as `audio_path` naming a file inside the channel's
media roots; any other path is refused with one message that says nothing about whether it
exists (anchor/live/media.py).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from anchor.api.auth import KeyRing, Principal
from anchor.api.bodies import MAX_JSON_BYTES, JsonBodyGuard
from anchor.api.channel_events import Meter, channel_state, event_stream
from anchor.api.errors import ApiError, error_response, error_responses, install_error_handlers
from anchor.api.metrics import channel_registry
from anchor.api.pages import mount_static, pages_router
from anchor.api.uploads import check_audio, read_capped
from anchor.api.viewing import ViewingPolicy
from anchor.api.whep import whep_router
from anchor.errors import AnchorError, InputError
from anchor.face.avatar import META_FILE, AvatarMeta
from anchor.live.channel import Channel
from anchor.live.config import OutputConfig
from anchor.live.intake import admit, amend
from anchor.live.items import MAX_TEXT_CHARS, Item, ItemIn
from anchor.live.schedule import audio_seconds, plan
from anchor.speech.audio_in import MAX_AUDIO_SECONDS
from streaming.webrtc import WebRtcBroadcaster

log = logging.getLogger(__name__)

MAX_AUDIO_UPLOAD_MB = 25
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"
MAX_ITEM_ID = 2**63 - 1
ItemId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID, description="Queue item id.")]


class SayNow(BaseModel):
    """Say something right now: cut in at once, or at the end of the current sentence."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    interrupt_at: Literal["now", "sentence"] = "now"
    language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN)  # the same rules as a queue item's
    voice: str | None = Field(default=None, min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=200)


class Reject(BaseModel):
    """Why an operator refuses a held item."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field("rejected by operator", min_length=1, max_length=500)


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")
    before_id: int | None = Field(None, ge=1, le=MAX_ITEM_ID)
    to_index: int | None = Field(None, ge=0, le=1_000_000)


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` written in place (operation bodies cannot carry $defs)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.rsplit("/", 1)[1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


_ITEM_SCHEMA = _inlined(ItemIn.model_json_schema())
_MULTIPART_ITEM = {
    **_ITEM_SCHEMA,
    "properties": {
        **_ITEM_SCHEMA["properties"],
        "audio": {"type": "string", "format": "binary", "description": "The audio to play (instead of text)."},
    },
}
_ADD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _ITEM_SCHEMA}, "multipart/form-data": {"schema": _MULTIPART_ITEM}},
    }
}
_PATCH_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Fields of the item to change, or {before_id} / {to_index} to move it.",
                }
            }
        },
    }
}


def channel_keys(api_key: str | Mapping[str, str] | None) -> KeyRing:
    """The channel's keys: one control key, or named keys (the job API's under `anchor serve`)."""
    keys = {"control": api_key} if isinstance(api_key, str) else dict(api_key or {})
    return KeyRing(keys, allow_query=True)


async def _item_body(request: Request, channel: Channel) -> dict[str, Any]:
    """The submitted item from JSON, or from multipart/form-data with an `audio` upload (stored in
    the channel's media folder, its path put in `audio_path`)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_AUDIO_UPLOAD_MB * 2**20 + MAX_JSON_BYTES:
            raise ApiError(413, f"the request is larger than the {MAX_AUDIO_UPLOAD_MB} MB upload limit", field="body")
        try:
            form = await request.form(max_files=1, max_fields=20)
        except Exception as e:  # starlette raises its own MultiPartException / HTTPException variants
            raise ApiError(400, f"the multipart body cannot be read: {e}", field="body") from None
        fields: dict[str, Any] = {}
        upload: UploadFile | None = None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key != "audio":
                    raise ApiError(422, f"unexpected file field {key!r}; the file accepted is `audio`", field=key)
                upload = value
            elif key == "audio_path":
                raise ApiError(422, "send either an audio file or audio_path, not both", field="audio_path")
            elif key == "recurrence":
                fields[key] = _json_field(key, value)
            else:
                fields[key] = value
        if upload is None:
            return fields
        data = await read_capped(upload, MAX_AUDIO_UPLOAD_MB * 2**20, "audio")
        kind, _seconds = await run_in_threadpool(check_audio, data, MAX_AUDIO_SECONDS)
        ItemIn.parse({**fields, "audio_path": "upload"})  # refuse a bad item before storing anything
        stored = await run_in_threadpool(channel.media.store_upload, data, kind)
        return {**fields, "audio_path": str(stored)}
    if ctype not in ("application/json", ""):
        raise ApiError(415, f"send application/json or multipart/form-data, not {ctype!r}", field="Content-Type")
    try:
        body = await request.json()
    except (ValueError, RecursionError) as e:  # no Content-Type: the JSON guard did not look at it
        raise ApiError(400, f"the body is not valid JSON: {e}", field="body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", field="body")
    return body


def _json_field(key: str, value: str) -> Any:
    """A nested field of a multipart item (e.g. `recurrence`), sent as JSON text."""
    try:
        return json.loads(value)
    except ValueError:
        raise ApiError(422, f'{key}: send it as a JSON object, e.g. {{"every_minutes": 60}}', field=key) from None


def _checked_audio_path(channel: Channel, body: dict[str, Any]) -> dict[str, Any]:
    """`body` with its audio_path replaced by the real path inside the media roots, or the refusal."""
    path = body.get("audio_path")
    if path is None:
        return body
    if not isinstance(path, str):
        raise InputError("audio_path: Input should be a valid string", field="audio_path")
    return {**body, "audio_path": str(channel.media.resolve(path))}


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
    guarded = APIRouter(
        dependencies=[Depends(keys.dependency())],
        tags=["channel"],
        responses=error_responses(401, 503),
    )
    open_routes = APIRouter(tags=["channel"])
    registry = channel_registry(channel)
    shared_meter = Meter(channel)

    def audio_length(path: str) -> float | None:
        try:
            return audio_seconds(str(channel.media.resolve(path)))
        except AnchorError:  # outside the media roots now: it fails at preparation, with its reason
            return None

    @guarded.get("/queue", summary="The queue: playing and waiting items, and the last finished ones")
    def list_queue(history: int = Query(0, ge=0, le=1000, description="Finished items to include.")) -> dict[str, Any]:
        """Playing, waiting and held items in play order, each with how far its preparation is, its
        duration and expected start (estimates until prepared); recurring and idle-playlist entries;
        and recent history."""
        items = queue.list()
        done = queue.history(history) if history else []
        preparing = channel.preparation()
        now = datetime.now(UTC)
        on_air = channel.now_playing()
        key = on_air["item"]["id"] if on_air["item"] else None
        slots = plan(
            items,
            preparing,
            now=now,
            on_air=key,
            position_s=on_air["position_s"],
            on_air_duration_s=on_air["duration_s"] if on_air["complete"] and key is not None else None,
            paused=channel.paused,
            audio_length=audio_length,
        )

        def listed(i: Item) -> dict[str, Any]:
            slot = slots.get(i.id)
            return {
                **i.model_dump(mode="json"),
                "preparation": preparing.get(i.id),
                **(slot.as_dict(now) if slot is not None else {}),
            }

        templates = {t.id: t for t in queue.recurring()}
        if channel.idle_playlist:
            templates.update((t.id, t) for t in queue.playlist_items(channel.idle_playlist))
        templates.update((t.id, t) for t in queue.held() if t.is_template)
        return {
            "now": now.isoformat(),
            "paused": channel.paused,
            "items": [listed(i) for i in items],
            "templates": [t.model_dump(mode="json") for t in templates.values()],
            "idle_playlist": channel.idle_playlist,
            "history": [i.model_dump(mode="json") for i in done],
        }

    @guarded.post(
        "/queue",
        status_code=201,
        openapi_extra=_ADD_DOC,
        summary="Add an item (text, an uploaded audio file, or a file inside the media roots)",
        responses=error_responses(400, 413, 415, 422),
    )
    async def add_item(request: Request) -> dict[str, Any]:
        """Queue a script (it passes the content policy first: refused -> 422, needs review -> stored held)."""
        body = _checked_audio_path(channel, await _item_body(request, channel))
        spec = ItemIn.parse(body)
        _check_avatar(spec.avatar)
        item = await run_in_threadpool(admit, queue, policy, spec)  # the policy may ask a moderation endpoint
        channel.nudge()
        return item.model_dump(mode="json")

    @guarded.get("/queue/{item_id}", summary="One item", responses=error_responses(404, 422))
    def get_item(item_id: ItemId) -> dict[str, Any]:
        return queue.get(item_id).model_dump(mode="json")

    @guarded.patch(
        "/queue/{item_id}",
        openapi_extra=_PATCH_DOC,
        summary="Edit a waiting item, or move it",
        responses=error_responses(400, 404, 413, 422),
    )
    async def patch_item(item_id: ItemId, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (ValueError, RecursionError) as e:
            raise ApiError(400, f"the body is not valid JSON: {e}", field="body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object", field="body")
        if set(body) & {"before_id", "to_index"}:
            move = Move.model_validate(body)
            item = queue.move(item_id, before_id=move.before_id, to_index=move.to_index)
        else:
            _check_avatar(body.get("avatar") if isinstance(body.get("avatar"), str) else None)
            item = await run_in_threadpool(amend, queue, policy, item_id, _checked_audio_path(channel, body))
        channel.nudge()
        return item.model_dump(mode="json")

    @guarded.delete(
        "/queue/{item_id}", summary="Remove a waiting item, or stop the one on air", responses=error_responses(404, 422)
    )
    def delete_item(item_id: ItemId) -> dict[str, Any]:
        """Remove a waiting item (its preparation stops); the item on air is stopped instead (skipped)."""
        item = queue.get(item_id)
        if item.state == "playing" and channel.timeline.current_key == item_id:
            channel.skip()
            return {**item.model_dump(mode="json"), "stopping": True}
        removed = queue.remove(item_id).model_dump(mode="json")
        channel.nudge()
        return removed

    @guarded.post(
        "/queue/{item_id}/approve", summary="Release an item held for review", responses=error_responses(404, 422)
    )
    def approve_item(item_id: ItemId, who: Principal = Depends(keys.dependency())) -> dict[str, Any]:
        """An operator releases an item the content policy held for review; it joins the queue."""
        item = queue.approve(item_id, by=who.key_name or "operator")
        channel.nudge()
        return item.model_dump(mode="json")

    @guarded.post(
        "/queue/{item_id}/reject",
        summary="Refuse an item held for review",
        responses=error_responses(400, 404, 413, 422),
    )
    def reject_item(item_id: ItemId, body: Reject, who: Principal = Depends(keys.dependency())) -> dict[str, Any]:
        """An operator refuses a held item: it is skipped with the reason and never plays."""
        return queue.reject(item_id, body.reason, by=who.key_name or "operator").model_dump(mode="json")

    @guarded.post("/skip", summary="Stop the item on air", responses=error_responses(409))
    def skip() -> dict[str, Any]:
        """Stop the item on air at the next frame; it is marked skipped and the queue goes on."""
        key = channel.skip()
        if key is None:
            raise ApiError(409, "nothing is on air to skip", field="item")
        return {"skipped": key}

    @guarded.post(
        "/say-now",
        status_code=202,
        summary="Say something now (an interrupt)",
        responses=error_responses(400, 413, 422),
    )
    def say_now(body: SayNow) -> dict[str, Any]:
        item = admit(queue, policy, ItemIn.parse({**body.model_dump(), "mode": "interrupt"}))
        channel.nudge()
        return item.model_dump(mode="json")

    @guarded.get("/avatars", summary="The avatars an item may name")
    def list_avatars() -> dict[str, Any]:
        """Installed avatars (name, kind photo|video, licence) and the channel's own presenter."""
        store = channel.pipeline.avatars
        found = []
        for name in store.names():
            try:
                meta = AvatarMeta.model_validate_json((store.path_of(name) / META_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError, AnchorError) as e:  # a damaged pack is left out of the picker
                log.warning("avatar %s unreadable: %s", name, e)
                continue
            found.append({"name": name, "kind": meta.kind, "licence": meta.licence})
        return {"default": channel.avatar.name, "avatars": found}

    @guarded.get("/voices", summary="The voices and languages an item may name")
    async def list_voices() -> dict[str, Any]:
        """Installed voices (id, language, name, backend) of the channel's speech backend."""
        speech = channel.pipeline.speech
        voices = await run_in_threadpool(speech.voices)
        languages = sorted({*speech.capabilities.languages, *(v.language for v in voices)})
        return {"backend": speech.name, "languages": languages, "voices": [asdict(v) for v in voices]}

    @guarded.get("/outputs", summary="The RTMP outputs")
    def list_outputs() -> dict[str, Any]:
        """The RTMP outputs (stream keys never shown), each enabled or stopped, with its state."""
        return {"outputs": [asdict(o) for o in channel.output_set.list()]}

    @guarded.post(
        "/outputs", status_code=201, summary="Push to another RTMP URL", responses=error_responses(400, 413, 415, 422)
    )
    def add_output(body: OutputConfig) -> dict[str, Any]:
        """Start pushing to another rtmp:// URL (lasts until the channel stops; the channel file is permanent)."""
        return asdict(channel.output_set.add(body))

    @guarded.delete("/outputs/{output_id}", summary="Remove an output", responses=error_responses(404))
    def remove_output(output_id: str) -> dict[str, Any]:
        return asdict(channel.output_set.remove(output_id))

    @guarded.post(
        "/outputs/{output_id}/stop", summary="Stop an output (kept, not pushing)", responses=error_responses(404)
    )
    def stop_output(output_id: str) -> dict[str, Any]:
        return asdict(channel.output_set.stop(output_id))

    @guarded.post("/outputs/{output_id}/start", summary="Start a stopped output", responses=error_responses(404))
    def start_output(output_id: str) -> dict[str, Any]:
        return asdict(channel.output_set.start(output_id))

    @guarded.post("/pause", summary="Hold the queue (the host idles on air)")
    def pause() -> dict[str, Any]:
        channel.pause()
        return {"paused": True}

    @guarded.post("/resume", summary="Release the queue")
    def resume() -> dict[str, Any]:
        channel.resume()
        return {"paused": False}

    @guarded.get("/now-playing", summary="What is on air")
    def now_playing() -> dict[str, Any]:
        """What is on air, and whether the channel runs (`channel.state`: running | stopped | failed)."""
        return {**channel.now_playing(), "channel": channel_state(channel)}

    @guarded.get("/stats", summary="Counters")
    def stats() -> dict[str, Any]:
        return channel.stats().as_dict()

    @guarded.get(
        "/events",
        summary="Server-sent events (item.*, output.*, channel.*, meter)",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def events(
        meter: bool = Query(
            False, description="Also send `meter` events (audio level, real-time health) 5 times a second."
        ),
    ) -> StreamingResponse:
        """The channel's events; the stream ends with `channel.stopped` when the channel stops."""
        return StreamingResponse(
            event_stream(channel, shared_meter if meter else None),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )

    @open_routes.get(
        "/metrics",
        summary="Prometheus metrics (no key needed)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
    )
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @open_routes.get("/healthz", summary="Is the channel on air (no key needed)")
    def health() -> dict[str, Any]:
        return {
            "ok": channel.error is None,
            **channel_state(channel),
            "program_time_s": channel.timeline.frame_index / channel.fps,
        }

    @open_routes.get("/readyz", summary="Readiness for load balancers (no key needed)", responses=error_responses(503))
    def ready() -> Any:
        if channel.error is not None:
            return error_response(503, f"the channel stopped: {channel.error}", "channel")
        return {"status": "ready"}

    router = APIRouter()
    router.include_router(guarded)
    router.include_router(open_routes)
    return router


def channel_app(
    channel: Channel,
    api_key: str | None = None,
    broadcaster: WebRtcBroadcaster | None = None,
    viewing: ViewingPolicy | None = None,
) -> FastAPI:
    """A FastAPI app serving one channel: control API, WHEP viewing (by `viewing`, default public)
    and the pages, at the root."""
    app = FastAPI(title="anchor channel control", version="1")
    app.add_middleware(JsonBodyGuard)
    install_error_handlers(app)

    @app.exception_handler(sqlite3.ProgrammingError)
    async def _queue_closed(request: Request, e: sqlite3.ProgrammingError) -> JSONResponse:
        # `anchor live` closes the queue after the channel stops and before the API does: a page's
        # last requests in between get a plain answer, not a traceback.
        if "closed database" in str(e):
            return error_response(503, "the channel is shutting down", "channel")
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=e)
        return error_response(500, "internal error; it has been logged")

    app.include_router(channel_router(channel, api_key))
    if broadcaster is not None:
        app.include_router(
            whep_router(broadcaster, viewing or ViewingPolicy.build("anchor", "public", channel_keys(api_key)))
        )
    app.include_router(pages_router())
    mount_static(app)
    return app
