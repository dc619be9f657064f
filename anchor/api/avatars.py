"""/v1/avatars (upload a photo -> prepared avatar, or a recording -> a video-avatar build; list, preview,
delete) and /v1/voices."""

from __future__ import annotations

import shutil
import threading
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from anchor.api import ownership
from anchor.api.auth import Principal, require_key
from anchor.api.errors import ApiError, error_responses
from anchor.api.uploads import check_photo, read_capped
from anchor.config import BUILTIN_AVATARS
from anchor.errors import InputError
from anchor.face.avatar import IMAGE_FILE, META_FILE, SLUG_RE, AvatarMeta, AvatarStore, check_slug, load_pack

SLUG_PATTERN = f"^{SLUG_RE.pattern}$"  # for the OpenAPI document; the check itself is check_slug (fullmatch)

router = APIRouter(
    tags=["avatars and voices"], dependencies=[Depends(require_key)], responses=error_responses(401, 503)
)

# mediapipe graphs are heavy; one preparation at a time keeps memory and CPU bounded.
_PREPARE_LOCK = threading.Lock()


def _store(request: Request) -> AvatarStore:
    return AvatarStore(request.app.state.settings.avatars_dir, BUILTIN_AVATARS)


def _is_builtin(store: AvatarStore, name: str) -> bool:
    return ownership.is_builtin(name, store.path_of(name), BUILTIN_AVATARS)


def _avatar_doc(request: Request, store: AvatarStore, name: str, principal: Principal) -> dict[str, Any]:
    pack_dir = store.path_of(name)

    meta = AvatarMeta.model_validate_json((pack_dir / META_FILE).read_text(encoding="utf-8"))
    return {
        "name": name,
        "object": "avatar",
        "builtin": _is_builtin(store, name),
        "mine": ownership.owner_of(pack_dir) == principal.key_name,
        "kind": meta.kind,
        "image_size": list(meta.image_size),
        "face_box": list(meta.face_box),
        "source": meta.source,
        "licence": meta.licence,
        "consent": meta.consent,
        "created": meta.created,
        "preview_url": str(request.url_for("avatar_preview", name=name)),
    }


@router.post(
    "/v1/avatars",
    status_code=201,
    summary="Upload a photo (201, prepared) or a recording (202, a build to poll) and make an avatar (it belongs to your key)",
    responses=error_responses(400, 403, 409, 413, 415, 422, 429),
)
async def create_avatar(
    request: Request,
    principal: Principal = Depends(require_key),
    name: str = Form(..., description="lowercase letters, digits, '-' or '_'", pattern=SLUG_PATTERN),
    photo: UploadFile | None = File(None, description="A photo with exactly one frontal face (JPEG, PNG, WebP)."),
    video: UploadFile | None = File(
        None, description="Or a recording (10 s to 10 min, one person facing the camera): a video avatar."
    ),
    source: str = Form(..., description="Where the photo or recording came from.", min_length=1, max_length=2000),
    licence: str = Form(..., description="Its licence.", min_length=1, max_length=2000),
    consent: str = Form(
        ..., description="Who consented to this likeness being animated.", min_length=1, max_length=2000
    ),
    overwrite: bool = Form(False),
    keep_background: bool = Form(False, description="Video avatars: keep the recorded background."),
) -> JSONResponse:
    settings = request.app.state.settings
    await run_in_threadpool(request.app.state.limiter.take, principal.key_name, "avatars")
    check_slug(name)
    ownership.refuse_reserved(name)  # before reading the upload: nothing is stored or decoded
    store = _store(request)
    if video is not None and photo is None:
        return await _create_video_avatar(request, principal, store, name, video, source, licence, consent, overwrite,
                                          keep_background)  # fmt: skip
    if photo is None or video is not None:
        raise ApiError(422, "send either a photo or a video file (one of them)", field="photo")
    data = await read_capped(photo, int(settings.api.max_photo_mb * 2**20), "photo")
    check_photo(data, settings.api.max_photo_side, max_pixels=settings.api.max_photo_pixels)

    def prepare() -> None:
        from anchor.face.prepare import prepare_avatar

        with _PREPARE_LOCK:  # the ownership check and the write happen together
            target = settings.avatars_dir / name
            owner = None
            if overwrite and (target / META_FILE).is_file():
                ownership.require_may_change(principal, name, target)
                owner = ownership.owner_of(target)
            settings.avatars_dir.mkdir(parents=True, exist_ok=True)
            prepare_avatar(
                data, name, settings.avatars_dir, source=source, licence=licence, consent=consent, overwrite=overwrite
            )
            ownership.record_owner(target, Principal(owner) if owner is not None else principal)

    try:
        await run_in_threadpool(prepare)
    except InputError as e:
        if e.field == "name" and "already exists" in str(e):
            raise ApiError(409, str(e), field="name") from None
        raise
    return JSONResponse(
        _avatar_doc(request, store, name, principal), status_code=201, headers={"Location": f"/v1/avatars/{name}"}
    )


async def _create_video_avatar(
    request: Request, principal: Principal, store: AvatarStore, name: str, video: UploadFile, source: str,
    licence: str, consent: str, overwrite: bool, keep_background: bool,
) -> JSONResponse:  # fmt: skip
    """Check the recording at the edge, then build it in the background: 202 + a build record."""
    from anchor.api.avatar_builds import public, registry_of, save_capped

    settings = request.app.state.settings
    for value, field in ((source, "source"), (licence, "licence"), (consent, "consent")):
        if not value.strip():
            raise ApiError(422, f"{field} must not be empty: a video avatar needs its source, licence and consent",
                           field=field)  # fmt: skip
    target = settings.avatars_dir / name
    if store.exists(name):
        if not overwrite:
            raise ApiError(409, f"an avatar named {name!r} already exists; choose another name", field="name")
        if (target / META_FILE).is_file():
            ownership.require_may_change(principal, name, target)
    owner = ownership.owner_of(target) if (target / META_FILE).is_file() else None
    builds = registry_of(request.app.state, settings.api.storage_dir)
    record = builds.new(name)
    upload = builds.dir_of(record["id"]) / "upload"
    try:
        await save_capped(video, upload, int(settings.api.max_video_mb * 2**20))

        def precheck() -> None:
            from anchor.face.detect import FaceAnalyzer
            from anchor.face.video.analyse import precheck as sampled_check
            from anchor.face.video.source import probe_video

            with _PREPARE_LOCK, FaceAnalyzer() as fa:
                sampled_check(probe_video(upload), fa)

        await run_in_threadpool(precheck)
    except (ApiError, InputError):
        builds.discard(record["id"])
        raise

    def build(progress) -> None:
        from anchor.face.video.ingest import IngestOptions, build_video_avatar

        # Not under _PREPARE_LOCK: builds take minutes and run one at a time on their own thread.
        settings.avatars_dir.mkdir(parents=True, exist_ok=True)
        build_video_avatar(
            upload, name, settings.avatars_dir, source=source, licence=licence, consent=consent,
            overwrite=overwrite, options=IngestOptions(keep_background=keep_background), progress=progress,
        )  # fmt: skip
        ownership.record_owner(target, Principal(owner) if owner is not None else principal)

    builds.submit(record["id"], build)
    location = f"/v1/avatars/builds/{record['id']}"
    return JSONResponse(public(record), status_code=202, headers={"Location": location})


@router.get(
    "/v1/avatars/builds/{build_id}",
    summary="A video-avatar build: state, stage, percent, error",
    responses=error_responses(404, 422),
)
def avatar_build(build_id: str, request: Request) -> dict[str, Any]:
    from anchor.api.avatar_builds import public, registry_of

    record = registry_of(request.app.state, request.app.state.settings.api.storage_dir).get(build_id)
    doc = public(record)
    if record["state"] == "completed":
        doc["avatar_url"] = str(request.url_for("avatar_info", name=record["name"]))
    return doc


@router.get("/v1/avatars", summary="List avatars")
def list_avatars(request: Request, principal: Principal = Depends(require_key)) -> dict[str, Any]:
    store = _store(request)
    return {"object": "list", "data": [_avatar_doc(request, store, n, principal) for n in store.names()]}


@router.get(
    "/v1/avatars/{name}",
    summary="The avatar's preview image (PNG)",
    response_class=FileResponse,
    name="avatar_preview",
    responses={200: {"content": {"image/png": {}}}, **error_responses(404, 422)},
)
def avatar_preview(name: str, request: Request) -> FileResponse:
    path = _store(request).path_of(name) / IMAGE_FILE
    return FileResponse(path, media_type="image/png")


@router.get(
    "/v1/avatars/{name}/info",
    summary="The avatar's details (JSON)",
    name="avatar_info",
    responses=error_responses(404, 422),
)
def avatar_info(name: str, request: Request, principal: Principal = Depends(require_key)) -> dict[str, Any]:
    return _avatar_doc(request, _store(request), name, principal)


@router.delete(
    "/v1/avatars/{name}",
    status_code=204,
    summary="Delete an avatar your key made (an admin key: any uploaded one)",
    responses=error_responses(403, 404, 422),
)
def delete_avatar(name: str, request: Request, principal: Principal = Depends(require_key)) -> Response:
    store = _store(request)
    path = store.path_of(name)
    if _is_builtin(store, name):
        raise ApiError(403, f"{name!r} is a built-in avatar and cannot be deleted", field="name")
    with _PREPARE_LOCK:
        ownership.require_may_change(principal, name, path)
        load_pack(path)  # only ever remove something that really is an avatar pack
        shutil.rmtree(path)
    return Response(status_code=204)


@router.get("/v1/voices", summary="Installed voices and languages")
def list_voices(request: Request) -> dict[str, Any]:
    voices = request.app.state.voices
    settings = request.app.state.settings
    return {
        "object": "list",
        "backend": settings.speech.backend,
        "languages": sorted({v["language"] for v in voices}),
        "defaults": dict(settings.speech.voices),
        "data": voices,
    }
