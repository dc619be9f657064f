"""Who may watch a channel over WebRTC, and the TURN credentials they get.

Policy `public`: anyone may open a viewer session. Policy `token`: a viewer shows a signed,
expiring viewer token (minted by the control API: POST /viewer-tokens) or a control key, as
`Authorization: Bearer <token>` or `?token=`. A token is
`vt1.<expiry unix s>.<nonce>.<HMAC-SHA256(secret, "vt1.<channel>.<expiry>.<nonce>")>`, so it
is checked without storing anything and is valid for one channel until it expires.

TURN credentials are never static in the answer: with `turn` configured, each authorised
viewer gets a short-lived pair in the TURN REST style that coturn's `use-auth-secret` checks:
username `<expiry>:<label>`, password base64(HMAC-SHA1(shared secret, username)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request

from anchor.api.auth import CHALLENGE, KeyRing
from anchor.api.errors import ApiError
from anchor.live.config import WebRtcConfig

ViewingMode = Literal["public", "token"]
TOKEN_PREFIX = "vt1"
MAX_TOKEN_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class ViewerTokens:
    """Mints and checks viewer tokens of one channel with one secret."""

    secret: bytes
    channel: str

    def _sign(self, expiry: int, nonce: str) -> str:
        msg = f"{TOKEN_PREFIX}.{self.channel}.{expiry}.{nonce}".encode()
        return base64.urlsafe_b64encode(hmac.new(self.secret, msg, hashlib.sha256).digest()).decode().rstrip("=")

    def mint(self, ttl_s: int, now: float | None = None) -> tuple[str, int]:
        """(token, expiry as unix seconds)."""
        expiry = int((time.time() if now is None else now) + ttl_s)
        nonce = secrets.token_urlsafe(9)
        return f"{TOKEN_PREFIX}.{expiry}.{nonce}.{self._sign(expiry, nonce)}", expiry

    def valid(self, token: str, now: float | None = None) -> bool:
        """True for an unexpired token of this channel signed with this secret."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != TOKEN_PREFIX or not parts[1].isdigit() or len(parts[1]) > 12:
            return False
        expiry, nonce, signature = int(parts[1]), parts[2], parts[3]
        if expiry < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(signature.encode(), self._sign(expiry, nonce).encode())


@dataclass(frozen=True)
class TurnRest:
    """A TURN server whose credentials are minted per viewer from a shared secret (TURN REST)."""

    urls: list[str]
    secret: str
    ttl_s: int = 600

    def credentials(self, label: str, now: float | None = None) -> dict[str, Any]:
        expiry = int((time.time() if now is None else now) + self.ttl_s)
        username = f"{expiry}:{label}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return {"urls": self.urls, "username": username, "credential": base64.b64encode(digest).decode()}


@dataclass(frozen=True)
class StaticIce:
    """A STUN/TURN server from the channel file, handed as configured to authorised viewers."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None

    def entry(self) -> dict[str, Any]:
        given = {"urls": self.urls, "username": self.username, "credential": self.credential}
        return {k: v for k, v in given.items() if v}


@dataclass
class ViewingPolicy:
    """The channel's viewing rule (`public` | `token`), its token minter and its ICE servers for viewers."""

    mode: ViewingMode
    tokens: ViewerTokens
    keys: KeyRing
    ice: Sequence[StaticIce] = ()
    turn: TurnRest | None = None
    default_ttl_s: int = 4 * 3600

    @classmethod
    def build(
        cls,
        channel: str,
        mode: ViewingMode,
        keys: KeyRing,
        *,
        secret: str | None = None,
        ice: Sequence[StaticIce] = (),
        turn: TurnRest | None = None,
        default_ttl_s: int = 4 * 3600,
    ) -> ViewingPolicy:
        """A policy whose token secret is `secret`, else derived from the control keys (tokens then
        survive restarts and die with a key change), else random for this process."""
        if secret:
            key = secret.encode()
        elif keys.keys:
            joined = "\n".join(f"{n}={s}" for n, s in sorted(keys.keys.items())).encode()
            key = hmac.new(joined, b"anchor viewer tokens", hashlib.sha256).digest()
        else:
            key = secrets.token_bytes(32)
        return cls(mode, ViewerTokens(key, channel), keys, ice, turn, default_ttl_s)

    def _presented(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and given.strip():
            return given.strip()
        return request.query_params.get("token", "") or request.query_params.get("key", "")

    def admit(self, request: Request) -> str:
        """Let an authorised viewer in, returning a label for them; 401 otherwise (policy `token`)."""
        if self.mode == "public":
            return "public"
        presented = self._presented(request)
        if presented and self.tokens.valid(presented):
            return "token"
        if presented and self.keys.keys:
            for name, secret in self.keys.keys.items():
                if hmac.compare_digest(presented.encode(), secret.encode()):
                    return f"key-{name}"
        raise ApiError(
            401,
            "watching this channel needs a viewer token: open the player link the operator gave you "
            "(the control API mints them: POST /viewer-tokens)",
            field="token",
            headers=CHALLENGE,
        )

    def ice_servers(self, label: str) -> list[dict[str, Any]]:
        """ICE servers for one admitted viewer: the static ones and fresh TURN REST credentials."""
        servers = [s.entry() for s in self.ice]
        if self.turn is not None:
            servers.append(self.turn.credentials(f"{label}-{secrets.token_hex(4)}"))
        return servers


def policy_for(cfg: WebRtcConfig, channel: str, keys: KeyRing) -> ViewingPolicy:
    """The viewing policy a channel file asks for (`webrtc.viewing`, `turn`, `ice_servers`, token settings)."""
    turn = TurnRest(cfg.turn.urls, cfg.turn.secret, cfg.turn.ttl_s) if cfg.turn is not None else None
    ice = [StaticIce(s.urls, s.username, s.credential) for s in cfg.ice_servers]
    return ViewingPolicy.build(
        channel, cfg.viewing, keys, secret=cfg.token_secret, ice=ice, turn=turn, default_ttl_s=cfg.token_ttl_s
    )
