"""/v1/videos: create, poll, list, cancel, delete video jobs and download what they produced."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from anchor.api.auth import Principal, require_key
from anchor.api.errors import ApiError, error_responses
from anchor.api.schemas import VideoCreate, scripts_of, to_spec
from anchor.api.uploads import check_audio, check_background_image, read_capped
from anchor.errors import InputError, NotFoundError
from anchor.jobs.callback_guard import check_callback_url, parse_networks
from anchor.jobs.documents import job_document
from anchor.jobs.files import CAPTION_FILES, VIDEO_FILE
from anchor.jobs.records import JobRecord
from anchor.jobs.service import JobService
from anchor.provenance.policy import require_publishable

router = APIRouter(
    prefix="/v1/videos", tags=["videos"], dependencies=[Depends(require_key)], responses=error_responses(401, 503)
)

MAX_JSON_BYTES = 1 << 20
MAX_OFFSET = 2**31 - 1
MEDIA_TYPES = {VIDEO_FILE: "video/mp4", CAPTION_FILES["srt"]: "application/x-subrip", CAPTION_FILES["vtt"]: "text/vtt"}

_schema = VideoCreate.model_json_schema()
FILE_FIELDS = ("audio", "background_image")
_binary = {"type": "string", "format": "binary"}
_multipart_schema = {**_schema, "properties": {**_schema["properties"], **{name: _binary for name in FILE_FIELDS}}}
CREATE_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _schema}, "multipart/form-data": {"schema": _multipart_schema}},
    }
}


def _service(request: Request) -> JobService:
    return request.app.state.jobs


def _doc(request: Request, record: JobRecord) -> dict[str, Any]:
    return job_document(record, str(request.base_url).rstrip("/"))


async def _read_body(request: Request) -> tuple[dict[str, Any], dict[str, UploadFile]]:
    """The fields and the uploads by field name (`audio`, `background_image`), from JSON or multipart/form-data."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    api = request.app.state.settings.api
    length = int(request.headers.get("content-length") or 0)
    if ctype == "multipart/form-data":
        cap_mb = api.max_audio_mb + api.max_background_mb
        if length > cap_mb * 2**20 + MAX_JSON_BYTES:
            raise ApiError(413, f"the request is larger than the {cap_mb:.0f} MB upload limit", field="body")
        try:
            form = await request.form(max_files=len(FILE_FIELDS), max_fields=30)
        except Exception as e:  # starlette raises its own MultiPartException / HTTPException variants
            raise ApiError(400, f"the multipart body cannot be read: {e}", field="body") from None
        fields: dict[str, Any] = {}
        uploads: dict[str, UploadFile] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in FILE_FIELDS:
                    raise ApiError(
                        422,
                        f"unexpected file field {key!r}; the files accepted are `audio` and `background_image`",
                        field=key,
                    )
                if key in uploads:
                    raise ApiError(422, f"send one {key} file, not several", field=key)
                uploads[key] = value
            else:
                fields[key] = value
        return fields, uploads
    if ctype not in ("application/json", ""):
        raise ApiError(415, f"send application/json or multipart/form-data, not {ctype!r}", field="Content-Type")
    if length > MAX_JSON_BYTES:
        raise ApiError(413, "the JSON body is larger than 1 MB", field="body")
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "the JSON body is larger than 1 MB", field="body")
    try:
        data = json.loads(raw or b"{}")  # JsonBodyGuard already refused deep nesting and lone surrogates
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ApiError(400, f"the body is not valid JSON: {e}", field="body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", field="body")
    return data, {}


@router.post(
    "",
    status_code=202,
    openapi_extra=CREATE_DOC,
    summary="Create a video job",
    responses={
        200: {"description": "An Idempotency-Key replay: the job created the first time"},
        **error_responses(400, 409, 413, 415, 422, 429),
    },
)
async def create_video(
    request: Request,
    principal: Principal = Depends(require_key),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
) -> JSONResponse:
    """Queue a video of `text` (or of an uploaded `audio` file) spoken by an avatar, optionally in front
    of an uploaded `background_image`. The same Idempotency-Key with the same body (files included)
    returns the job created the first time."""
    state = request.app.state
    settings = state.settings
    api = settings.api
    replay = idempotency_key is not None and await run_in_threadpool(
        _service(request).store.idempotency_known, principal.key_name, idempotency_key
    )
    if not replay:  # a replay (or a conflicting reuse) creates nothing: it is not charged
        await run_in_threadpool(state.limiter.take, principal.key_name)  # may ask Redis: off the event loop
    fields, uploads = await _read_body(request)
    try:
        body = VideoCreate.model_validate(fields)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise ApiError(422, f"{field}: {first['msg']}", field=field) from None
    audio: tuple[bytes, str] | None = None
    background: tuple[bytes, str] | None = None
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
    if "audio" in uploads:  # files checked first: a bad file is reported as such in every build
        data = await read_capped(uploads["audio"], int(api.max_audio_mb * 2**20), "audio")
        kind, _seconds = await run_in_threadpool(check_audio, data, api.max_audio_seconds)
        audio = (data, kind)
        digest.update(hashlib.sha256(data).digest())
    if "background_image" in uploads:
        data = await read_capped(uploads["background_image"], int(api.max_background_mb * 2**20), "background_image")
        ext = await run_in_threadpool(
            lambda: check_background_image(
                data, api.max_photo_side, max_pixels=api.max_photo_pixels, slots=state.decode_slots
            )
        )
        background = (data, ext)
        digest.update(b"background_image" + hashlib.sha256(data).digest())
    spec = to_spec(
        body, settings, state.voices, has_audio=audio is not None, has_background_image=background is not None
    )
    for field, text, language in scripts_of(spec):  # the content policy, before anything is queued
        require_publishable(state.policy, text, language, field)
    if body.callback_url is not None:  # resolves the host: off the event loop
        networks = parse_networks(settings.api.webhook_private_networks)
        await run_in_threadpool(check_callback_url, body.callback_url, networks)
    idem = (idempotency_key, digest.hexdigest()) if idempotency_key else None
    record, created = await run_in_threadpool(
        _service(request).create,
        principal.key_name,
        spec,
        callback_url=body.callback_url,
        idempotency=idem,
        audio=audio,
        background_image=background,
    )
    headers = {"Location": f"/v1/videos/{record.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(_doc(request, record), status_code=202 if created else 200, headers=headers)


@router.get("", summary="List video jobs, newest first", responses=error_responses(422))
def list_videos(
    request: Request,
    principal: Principal = Depends(require_key),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    records, total = _service(request).page(principal.key_name, limit, offset)
    nxt = offset + len(records)
    return {
        "object": "list",
        "data": [_doc(request, r) for r in records],
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": nxt if nxt < total else None,
    }


@router.get("/{job_id}", summary="A video job: state, stage, percent, links", responses=error_responses(404))
def get_video(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> dict[str, Any]:
    return _doc(request, _service(request).get(principal.key_name, job_id))


@router.post("/{job_id}/cancel", summary="Cancel a queued or running job", responses=error_responses(404, 409))
def cancel_video(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> dict[str, Any]:
    try:
        record = _service(request).cancel(principal.key_name, job_id)
    except NotFoundError:
        raise
    except InputError as e:  # already final
        raise ApiError(409, str(e), field=e.field) from None
    return _doc(request, record)


@router.delete("/{job_id}", status_code=204, summary="Delete a job and its files", responses=error_responses(404))
def delete_video(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> Response:
    _service(request).delete(principal.key_name, job_id)
    return Response(status_code=204)


def _download(request: Request, principal: Principal, job_id: str, name: str) -> FileResponse:
    service = _service(request)
    record = service.get(principal.key_name, job_id)
    if record.state != "completed":
        raise ApiError(409, f"video job {job_id} is {record.state}, not completed; nothing to download yet", field="id")
    if name not in record.outputs:
        raise ApiError(404, f"video job {job_id} has no {name} (captions were not produced)", field="file")
    path = service.files.output(job_id, name)
    if not path.is_file():
        raise ApiError(404, f"the file {name} of job {job_id} is gone from storage", field="file")
    return FileResponse(
        path, media_type=MEDIA_TYPES[name], filename=f"{job_id}-{name}", content_disposition_type="inline"
    )


_DOWNLOAD_ERRORS = error_responses(404, 409)


@router.get(
    "/{job_id}/video.mp4",
    summary="Download the MP4 (HTTP range requests supported)",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}, 206: {"description": "A range of the MP4"}, **_DOWNLOAD_ERRORS},
)
def download_video(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> FileResponse:
    return _download(request, principal, job_id, VIDEO_FILE)


@router.get(
    "/{job_id}/captions.srt",
    summary="Download SubRip captions",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-subrip": {}}}, **_DOWNLOAD_ERRORS},
)
def download_srt(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> FileResponse:
    return _download(request, principal, job_id, CAPTION_FILES["srt"])


@router.get(
    "/{job_id}/captions.vtt",
    summary="Download WebVTT captions",
    response_class=FileResponse,
    responses={200: {"content": {"text/vtt": {}}}, **_DOWNLOAD_ERRORS},
)
def download_vtt(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> FileResponse:
    return _download(request, principal, job_id, CAPTION_FILES["vtt"])
