"""Which addresses a job's callback_url may reach (server-side request forgery guard).

A callback URL must resolve only to public addresses, unless its address lies in one of the
networks the operator allows (`api.webhook_private_networks`, e.g. "10.0.0.0/8" for an
intranet receiver). The address policy itself lives in `anchor.netguard` (shared with news
feed fetching). It is checked when the job is created and again before every delivery
attempt, so a name that later resolves elsewhere is caught.
"""

from __future__ import annotations

from collections.abc import Sequence

from anchor import netguard
from anchor.netguard import Network

__all__ = ["Network", "check_callback_url", "parse_networks"]


def parse_networks(cidrs: Sequence[str]) -> list[Network]:
    """CIDR strings -> networks (a bare address is a /32 or /128)."""
    return netguard.parse_networks(cidrs, field="webhook_private_networks")


def check_callback_url(url: str, allowed: Sequence[Network] = ()) -> None:
    """Raise InputError (field callback_url) unless `url` is http(s) and every address its
    host resolves to is public or inside an allowed network."""
    netguard.check_url(url, allowed, field="callback_url", allow_hint="api.webhook_private_networks")
