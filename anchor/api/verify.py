"""POST /v1/verify: upload a video, get the provenance verdict (`anchor verify` over HTTP)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from anchor.api.auth import require_key
from anchor.api.errors import ApiError, error_responses
from anchor.errors import InputError

router = APIRouter(tags=["provenance"], dependencies=[Depends(require_key)])
CHUNK = 1 << 20


@router.post(
    "/v1/verify", summary="Check a video's C2PA manifest and watermark", responses=error_responses(400, 401, 413, 422)
)
async def verify_upload(
    request: Request,
    file: UploadFile = File(..., description="The MP4 to check."),
    seconds: float = Query(10.0, ge=0.5, le=600, description="Seconds of video searched for the watermark."),
) -> dict[str, Any]:
    """The verdict (`authentic`, `tampered`, `untrusted`, `copy`, `unknown`) with its evidence.

    `exit_code` is what `anchor verify` would exit with (0 only for authentic). The upload is
    kept in a temporary file for the check and deleted afterwards.
    """
    from anchor.provenance.house import issuer_name, signing_identity
    from anchor.provenance.keys import load_watermark_key
    from anchor.provenance.verify import verify_file

    p = request.app.state.settings.provenance
    cap = int(p.verify_max_mb * 2**20)
    with tempfile.TemporaryDirectory(prefix="anchor-verify-") as tmp:
        path = Path(tmp) / "upload.mp4"
        size = 0
        with open(path, "wb") as out:
            while chunk := await file.read(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise ApiError(413, f"file is larger than the {p.verify_max_mb:g} MB limit", field="file")
                out.write(chunk)
        if size == 0:
            raise ApiError(422, "file is empty (0 bytes)", field="file")
        key: bytes | None
        try:
            ident = signing_identity(p)
            anchors, key = ident.trust_anchors, ident.watermark_key
        except InputError:  # no signing keys on this server: read the manifest without trust or watermark
            anchors = b""
            key = load_watermark_key(p.keys_dir) if (p.keys_dir / "watermark.key").is_file() else None
        verdict = await run_in_threadpool(
            verify_file,
            path,
            trust_anchors=anchors,
            watermark_key=key,
            issuers=[issuer_name(p), *p.known_issuers],
            max_seconds=seconds,
            display_name=file.filename or "upload",
            index_file=p.index_file,
        )
    return verdict.as_dict()
