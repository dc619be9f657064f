"""Which network addresses anchor may reach on a user's behalf (server-side request forgery guard),
and on which it may listen without a key (`check_exposure`).

Webhook callbacks and news-feed fetches go only to public addresses, unless an address lies
in a network the operator allows (e.g. "10.0.0.0/8" for an intranet server). Loopback,
private, link-local (cloud metadata at 169.254.169.254), site-local, multicast, reserved
and unspecified addresses are refused otherwise.

`ipaddress`'s `is_global` alone is not enough: IPv6 forms that carry an IPv4 address are
routed to that IPv4 address (by the kernel, a NAT64 gateway or a 6to4/Teredo relay), so they
are judged by the IPv4 address they embed: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
(::a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo (2001::/32, server and
client). Site-local fec0::/10 and the local-use NAT64 prefix 64:ff9b:1::/48 (whose embedding
is the operator's choice) are refused unless allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from anchor.errors import InputError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def parse_networks(cidrs: Sequence[str], *, field: str = "allow_networks") -> list[Network]:
    """CIDR strings -> networks (a bare address is a /32 or /128); InputError naming `field` otherwise."""
    out: list[Network] = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(str(c).strip(), strict=False))
        except ValueError as e:
            raise InputError(f"{field}: {c!r} is not a network like 10.0.0.0/8", field=field) from e
    return out


def embedded_ipv4(addr: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and is routed by (empty when none)."""
    if isinstance(addr, ipaddress.IPv4Address):
        return []
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr.teredo is not None:
        server, client = addr.teredo
        return [server, client]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    packed = int(addr)
    if addr in _NAT64 or (addr in _IPV4_COMPATIBLE and packed > 1):
        return [ipaddress.IPv4Address(packed & 0xFFFFFFFF)]
    return []


def _public(addr: Address) -> bool:
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback or addr.is_link_local:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and (addr in _SITE_LOCAL or addr in _NAT64_LOCAL):
        return False
    return addr.is_global


def address_allowed(addr: Address, allowed: Sequence[Network] = ()) -> bool:
    """True when `addr` is public or inside an allowed network; IPv6 forms that embed an
    IPv4 address are judged by the IPv4 address(es) they embed."""
    if any(addr in net for net in allowed if net.version == addr.version):
        return True
    inner = embedded_ipv4(addr)
    if inner:
        return all(address_allowed(a, allowed) for a in inner)
    return _public(addr)


def resolve(host: str, port: int, *, field: str = "url") -> list[Address]:
    """Every address `host` resolves to (a literal is itself); InputError when it cannot be resolved."""
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%")[0])]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise InputError(f"{field} host {host!r} cannot be resolved: {e}", field=field) from e
    found = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return sorted(found, key=str)


def check_address(
    host: str, addr: Address, allowed: Sequence[Network] = (), *, field: str = "url", allow_hint: str = ""
) -> None:
    """InputError unless `addr` (which `host` resolved to) may be reached."""
    if not address_allowed(addr, allowed):
        hint = f" unless {allow_hint} allows its network" if allow_hint else ""
        raise InputError(
            f"{field} host {host!r} resolves to {addr}, a non-public address; only public addresses are reached{hint}",
            field=field,
        )


def check_url(url: str, allowed: Sequence[Network] = (), *, field: str = "url", allow_hint: str = "") -> list[Address]:
    """Raise InputError (naming `field`) unless `url` is http(s) and every address its host
    resolves to may be reached; return those addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{field} must be an http:// or https:// URL", field=field)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise InputError(f"{field} has a bad port: {e}", field=field) from e
    addrs = resolve(parts.hostname, port, field=field)
    for addr in addrs:
        check_address(parts.hostname, addr, allowed, field=field, allow_hint=allow_hint)
    return addrs


PLACEHOLDER_PREFIX = "change-me"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, keys: Mapping[str, str], field: str) -> None:
    """InputError (naming `field`) when a server would listen on a non-loopback `host` without a
    key, or with a placeholder key from the example files (`change-me...`)."""
    if is_loopback(host):
        return
    if not keys:
        raise InputError(
            f"refusing to listen on {host} without an API key: anyone who reaches the port could use it; "
            f"set {field} (or listen on 127.0.0.1)",
            field=field,
        )
    placeholders = sorted(n for n, k in keys.items() if k.startswith(PLACEHOLDER_PREFIX))
    if placeholders:
        raise InputError(
            f"refusing to listen on {host} with the example placeholder key(s) {', '.join(placeholders)}; "
            f"replace them in {field}",
            field=field,
        )
