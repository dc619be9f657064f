"""The channel's control API key, made on first start when the channel file says `api_key: generate`."""

from __future__ import annotations

import os
import secrets

from anchor.live.config import GENERATE_KEY, ChannelConfig


def control_key(cfg: ChannelConfig) -> str | None:
    """The control API key: as configured, or (`api_key: generate`) the one kept in
    `cfg.control_key_file`, made with 192 random bits on first use and readable by its owner only."""
    key = cfg.control.api_key
    if key != GENERATE_KEY:
        return key
    path = cfg.control_key_file
    if path.is_file():
        stored = path.read_text(encoding="ascii").strip()
        if stored:
            return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(fresh + "\n")
    return fresh
