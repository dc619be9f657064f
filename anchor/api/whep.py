"""WHEP-style WebRTC viewing endpoints of a channel: POST /whep, DELETE/PATCH /whep/{id},
/webrtc/config (ICE servers for an admitted viewer) and POST /viewer-tokens (control key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import NoMatchFound

from anchor.api.auth import KeyRing
from anchor.api.errors import error_response, error_responses
from anchor.api.viewing import MAX_TOKEN_TTL_S, ViewingPolicy
from streaming.webrtc import ViewerLimitError, WebRtcBroadcaster

MAX_SDP_BYTES = 64 * 1024
SESSION_ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

_SDP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/sdp": {"schema": {"type": "string", "description": "The viewer's SDP offer."}}},
    }
}
_SDP_ANSWER: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "The SDP answer; Location names the session (DELETE it to hang up)",
        "content": {"application/sdp": {"schema": {"type": "string"}}},
        "headers": {"Location": {"schema": {"type": "string"}}, "ETag": {"schema": {"type": "string"}}},
    }
}


class TokenRequest(BaseModel):
    """How long the viewer token should stay valid."""

    model_config = ConfigDict(extra="forbid")
    ttl_s: int | None = Field(None, ge=60, le=MAX_TOKEN_TTL_S, description="Seconds; default: webrtc.token_ttl_s.")


class ViewerToken(BaseModel):
    token: str
    expires_at: int = Field(description="Unix seconds.")
    player_url: str


class IceConfig(BaseModel):
    iceServers: list[dict[str, Any]]
    maxViewers: int
    viewers: int
    viewing: str


def _error(status: int, message: str, field: str | None = None, **headers: str) -> JSONResponse:
    return error_response(status, message, field, headers)


def whep_router(broadcaster: WebRtcBroadcaster, policy: ViewingPolicy | None = None) -> APIRouter:
    """POST /whep (SDP offer -> 201 + answer + Location), DELETE /whep/{id} (PATCH, i.e. trickle
    ICE, is not offered: 405 with Allow: DELETE), GET /webrtc/config, POST /viewer-tokens.
    Without a policy viewing is public."""
    policy = policy or ViewingPolicy.build("anchor", "public", KeyRing({}))
    router = APIRouter(tags=["viewing"])
    control_key = policy.keys.dependency()

    @router.post(
        "/whep",
        status_code=201,
        openapi_extra=_SDP_BODY,
        responses={**_SDP_ANSWER, **error_responses(400, 401, 413, 415, 503)},
        response_class=Response,
        summary="Open a viewer session (WHEP): SDP offer in, SDP answer out",
    )
    async def whep_offer(request: Request) -> Response:
        policy.admit(request)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/sdp":
            return _error(415, "send the SDP offer with Content-Type: application/sdp", "Content-Type")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_SDP_BYTES:
            return _error(413, f"the SDP offer is larger than {MAX_SDP_BYTES // 1024} KB", "body")
        raw = await request.body()
        if len(raw) > MAX_SDP_BYTES:
            return _error(413, f"the SDP offer is larger than {MAX_SDP_BYTES // 1024} KB", "body")
        try:
            sdp = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _error(400, "the SDP offer is not UTF-8 text", "body")
        if "v=0" not in sdp or "m=" not in sdp:
            return _error(400, "the body is not an SDP offer (expected 'v=0' and at least one 'm=' line)", "body")
        try:
            session_id, answer = await broadcaster.offer(sdp)
        except ViewerLimitError as e:
            return _error(503, str(e), None, **{"Retry-After": "30"})
        except ValueError as e:
            return _error(400, f"cannot use this offer: {e}", "body")
        return Response(
            answer,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": f"{request.url.path}/{session_id}", "ETag": session_id},
        )

    @router.delete(
        "/whep/{session_id}",
        responses=error_responses(404, 422),
        summary="Hang up a viewer session (the session id is its credential)",
    )
    async def whep_delete(session_id: SESSION_ID) -> Response:
        if not await broadcaster.close_viewer(session_id):
            return _error(404, f"no viewer session {session_id!r}", "session_id")
        return Response(status_code=200)

    @router.get("/webrtc/config", responses=error_responses(401), summary="ICE servers for an admitted viewer")
    def webrtc_config(request: Request) -> IceConfig:
        """ICE servers for the player page (TURN credentials minted for this viewer), and the viewer cap."""
        label = policy.admit(request)
        return IceConfig(
            iceServers=policy.ice_servers(label),
            maxViewers=broadcaster.max_viewers,
            viewers=broadcaster.viewer_count,
            viewing=policy.mode,
        )

    @router.post(
        "/viewer-tokens",
        status_code=201,
        dependencies=[Depends(control_key)],
        responses=error_responses(400, 401, 413, 422),
        summary="Mint a viewer token (control key needed)",
    )
    def mint_viewer_token(request: Request, body: Annotated[TokenRequest | None, Body()] = None) -> ViewerToken:
        ttl = (body.ttl_s if body is not None else None) or policy.default_ttl_s
        token, expiry = policy.tokens.mint(ttl)
        try:
            player = str(request.url_for("player"))
        except NoMatchFound:  # mounted under `anchor serve`, which has no player page
            player = str(request.base_url).rstrip("/") + "/player"
        return ViewerToken(token=token, expires_at=expiry, player_url=f"{player}?token={token}")

    return router
