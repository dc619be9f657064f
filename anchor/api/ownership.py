"""Who may change an avatar: the key that made it, or an admin key (`api.admin_keys`).

An avatar made through the API records its key in `owner.json` inside its pack. A pack
without one was made by the operator (CLI) or ships with anchor: only an admin key may
replace or delete it. The names of the built-in avatars are reserved: no key can make an
avatar of that name, so none can shadow a built-in for every job and channel.
"""

from __future__ import annotations

import json
from pathlib import Path

from anchor.api.auth import Principal
from anchor.api.errors import ApiError
from anchor.config import BUILTIN_AVATARS
from anchor.face.avatar import META_FILE
from anchor.storage import write_file

OWNER_FILE = "owner.json"


def owner_of(pack_dir: Path) -> str | None:
    """The key name that made this pack through the API, or None (operator-made or built-in)."""
    try:
        data = json.loads((Path(pack_dir) / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = data.get("key") if isinstance(data, dict) else None
    return key if isinstance(key, str) else None


def record_owner(pack_dir: Path, principal: Principal) -> None:
    write_file(Path(pack_dir) / OWNER_FILE, json.dumps({"key": principal.key_name}).encode())


def builtin_names(builtin_dir: Path = BUILTIN_AVATARS) -> frozenset[str]:
    """Names of the avatars that ship with anchor (packs in the built-in folder not made through the API)."""
    if not builtin_dir.is_dir():
        return frozenset()
    return frozenset(
        p.name
        for p in builtin_dir.iterdir()
        if (p / META_FILE).is_file() and not p.name.startswith(".") and owner_of(p) is None
    )


def is_builtin(name: str, pack_dir: Path, builtin_dir: Path = BUILTIN_AVATARS) -> bool:
    return name in builtin_names(builtin_dir) and Path(pack_dir).resolve() == (builtin_dir / name).resolve()


def refuse_reserved(name: str, builtin_dir: Path = BUILTIN_AVATARS) -> None:
    """403 when `name` is a built-in avatar's name."""
    if name in builtin_names(builtin_dir):
        raise ApiError(
            403, f"{name!r} is the name of a built-in avatar and is reserved; choose another name", field="name"
        )


def require_may_change(principal: Principal, name: str, pack_dir: Path) -> None:
    """403 unless `principal` made this avatar or holds an admin key."""
    if principal.admin:
        return
    owner = owner_of(pack_dir)
    if owner is None or owner != principal.key_name:
        whose = "the operator" if owner is None else "another API key"
        raise ApiError(
            403, f"the avatar {name!r} belongs to {whose}; only its owner or an admin key may change it", field="name"
        )
