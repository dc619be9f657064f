"""Which addresses a job's callback_url may reach (server-side request forgery guard).

A callback URL must resolve only to public addresses, unless its address lies in one of the
networks the operator allows (`api.webhook_private_networks`, e.g. "10.0.0.0/8" for an
intranet receiver). Loopback, private, link-local (cloud metadata at 169.254.169.254),
multicast and reserved addresses are refused otherwise. It is checked when the job is created
and again before every delivery attempt, so a name that later resolves elsewhere is caught.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from anchor.errors import InputError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Sequence[str]) -> list[Network]:
    """CIDR strings -> networks (a bare address is a /32 or /128)."""
    out: list[Network] = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c.strip(), strict=False))
        except ValueError as e:
            raise InputError(
                f"api.webhook_private_networks: {c!r} is not a network like 10.0.0.0/8",
                field="webhook_private_networks",
            ) from e
    return out


def _addresses(host: str, port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return {literal}
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise InputError(f"callback_url host {host!r} cannot be resolved: {e}", field="callback_url") from e
    return {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}


def check_callback_url(url: str, allowed: Sequence[Network] = ()) -> None:
    """Raise InputError (field callback_url) unless `url` is http(s) and every address its
    host resolves to is public or inside an allowed network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("callback_url must be an http:// or https:// URL", field="callback_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise InputError(f"callback_url has a bad port: {e}", field="callback_url") from e
    for addr in sorted(_addresses(parts.hostname, port), key=str):
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if any(addr in net for net in allowed):
            continue
        if not addr.is_global or addr.is_multicast:
            raise InputError(
                f"callback_url host {parts.hostname!r} resolves to {addr}, a non-public address; "
                "webhooks go to public addresses only unless api.webhook_private_networks allows its network",
                field="callback_url",
            )
