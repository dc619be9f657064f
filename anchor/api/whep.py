"""WHEP-style WebRTC viewing endpoints of a channel: POST /whep, DELETE/PATCH /whep/{id}, /webrtc/config."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from anchor.api.errors import error_response
from streaming.webrtc import ViewerLimitError, WebRtcBroadcaster


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return error_response(status, message, None, headers)


def whep_router(broadcaster: WebRtcBroadcaster) -> APIRouter:
    """POST /whep (SDP offer -> 201 + answer + Location), DELETE /whep/{id}, PATCH -> 405."""
    router = APIRouter()

    @router.post("/whep", status_code=201)
    async def whep_offer(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype != "application/sdp":
            return _error(415, "send the SDP offer with Content-Type: application/sdp")
        sdp = (await request.body()).decode("utf-8", "replace")
        if "v=0" not in sdp or "m=" not in sdp:
            return _error(400, "the body is not an SDP offer (expected 'v=0' and at least one 'm=' line)")
        try:
            session_id, answer = await broadcaster.offer(sdp)
        except ViewerLimitError as e:
            return _error(503, str(e), **{"Retry-After": "30"})
        except ValueError as e:
            return _error(400, f"cannot use this offer: {e}")
        return Response(
            answer,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": f"/whep/{session_id}", "ETag": session_id},
        )

    @router.delete("/whep/{session_id}")
    async def whep_delete(session_id: str) -> Response:
        if not await broadcaster.close_viewer(session_id):
            return _error(404, f"no viewer session {session_id!r}")
        return Response(status_code=200)

    @router.patch("/whep/{session_id}")
    async def whep_patch(session_id: str) -> Response:
        return _error(405, "trickle ICE is not supported: the answer already holds every candidate", Allow="DELETE")

    @router.get("/webrtc/config")
    def webrtc_config() -> dict[str, Any]:
        """ICE servers for the player page, and the viewer cap."""
        return {
            "iceServers": [
                {k: v for k, v in {"urls": s.urls, "username": s.username, "credential": s.credential}.items() if v}
                for s in broadcaster.ice_servers
            ],
            "maxViewers": broadcaster.max_viewers,
            "viewers": broadcaster.viewer_count,
        }

    return router
