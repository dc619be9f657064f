"""Avatar packs on disk: avatars/NAME/{image.png, landmarks.npy, mask.png, meta.json}."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, Field

from anchor.errors import InputError, NotFoundError

SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # always fullmatch: `$` would accept a trailing newline

IMAGE_FILE = "image.png"
LANDMARKS_FILE = "landmarks.npy"
MASK_FILE = "mask.png"
META_FILE = "meta.json"


class AvatarMeta(BaseModel):
    """What an avatar pack says about itself: where the photo came from and who agreed to its use."""

    name: str
    kind: Literal["photo", "video"] = Field(
        "photo", description="photo: one still, mesh-warped; video: a recording of the person."
    )
    version: int = Field(1, ge=1, description="Pack format version of this kind.")
    source: str = Field(description="Where the photo came from (URL, package path, photographer).")
    licence: str = Field(description="Licence of the photo, e.g. 'public domain', 'CC-BY-4.0', 'own photo'.")
    consent: str = Field(description="Who consented to this likeness being animated, or why none is needed.")
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    image_size: tuple[int, int] = Field(description="(width, height) of image.png in pixels.")
    face_box: tuple[int, int, int, int] = Field(description="(x0, y0, x1, y1) of the face in image.png.")
    notes: str = ""


@dataclass(frozen=True)
class AvatarPack:
    """A prepared avatar: RGB image, 478 face-mesh landmarks in pixels (x, y, z), person mask."""

    name: str
    path: Path
    image: np.ndarray  # (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (478, 3) float32, x/y in pixels, z in pixel-scaled mediapipe depth
    mask: np.ndarray  # (H, W) uint8, 255 = person
    meta: AvatarMeta


def check_slug(name: str) -> str:
    """Return `name` if it is a safe avatar name, else raise InputError saying what is allowed."""
    if not isinstance(name, str) or not SLUG_RE.fullmatch(name):
        raise InputError(
            f"avatar name {name!r} is not allowed: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit",
            field="name",
        )
    return name


def save_pack(pack_dir: Path, image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, meta: AvatarMeta) -> None:
    """Write a pack atomically: into a temporary sibling directory, then renamed into place."""
    pack_dir = Path(pack_dir)
    tmp = pack_dir.with_name(f".{pack_dir.name}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(tmp / IMAGE_FILE), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    np.save(tmp / LANDMARKS_FILE, landmarks.astype(np.float32))
    cv2.imwrite(str(tmp / MASK_FILE), mask)
    (tmp / META_FILE).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.rename(pack_dir)


def load_pack(pack_dir: Path) -> AvatarPack:
    """Read a pack directory written by save_pack."""
    pack_dir = Path(pack_dir)
    if not (pack_dir / META_FILE).is_file():
        raise NotFoundError(f"no avatar pack at {pack_dir}", field="avatar")
    meta = AvatarMeta.model_validate(json.loads((pack_dir / META_FILE).read_text(encoding="utf-8")))
    bgr = cv2.imread(str(pack_dir / IMAGE_FILE), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(pack_dir / MASK_FILE), cv2.IMREAD_GRAYSCALE)
    if bgr is None or mask is None:
        raise InputError(f"avatar pack {pack_dir} is damaged: image.png or mask.png unreadable", field="avatar")
    landmarks = np.load(pack_dir / LANDMARKS_FILE).astype(np.float32)
    return AvatarPack(meta.name, pack_dir, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), landmarks, mask, meta)


class AvatarStore:
    """The avatars a user can pick: packs in the user directory, then the built-in ones."""

    def __init__(self, user_dir: Path, builtin_dir: Path | None = None) -> None:
        self.user_dir = Path(user_dir)
        self.builtin_dir = Path(builtin_dir) if builtin_dir else None

    def _dirs(self) -> list[Path]:
        dirs = [self.user_dir]
        if self.builtin_dir and self.builtin_dir.resolve() != self.user_dir.resolve():
            dirs.append(self.builtin_dir)
        return dirs

    def names(self) -> list[str]:
        """All avatar names, user packs shadowing built-in ones of the same name."""
        seen: dict[str, None] = {}
        for d in self._dirs():
            if d.is_dir():
                for p in sorted(d.iterdir()):
                    if (p / META_FILE).is_file() and not p.name.startswith("."):
                        seen.setdefault(p.name, None)
        return list(seen)

    def path_of(self, name: str) -> Path:
        try:
            check_slug(name)
        except InputError as e:
            raise InputError(str(e), field="avatar") from None
        for d in self._dirs():
            if (d / name / META_FILE).is_file():
                return d / name
        raise NotFoundError(f"unknown avatar {name!r}; installed: {', '.join(self.names()) or 'none'}", field="avatar")

    def load(self, name: str) -> AvatarPack:
        return load_pack(self.path_of(name))

    def exists(self, name: str) -> bool:
        return any((d / name / META_FILE).is_file() for d in self._dirs())


def store_pack(staging: Path, target: Path, *, overwrite: bool) -> None:
    """Move a finished staging directory to `target` (swapping out an old pack when overwriting)."""
    staging, target = Path(staging), Path(target)
    if not (staging / META_FILE).is_file():
        raise RuntimeError(f"{staging} is not a finished pack")
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise InputError(
                f"an avatar named {target.name!r} already exists in {target.parent}; choose another name "
                "or ask to overwrite it",
                field="name",
            )
        retired = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:12]}")
        target.rename(retired)
        try:
            staging.rename(target)
        except OSError:
            retired.rename(target)
            raise
        try:
            remove_path(retired)
        except OSError:  # the new pack is in place; an old copy that cannot be removed stays hidden
            pass
        return
    try:
        staging.rename(target)
    except OSError as exc:
        if target.exists():
            raise InputError(
                f"an avatar named {target.name!r} was just created by someone else; choose another name", field="name"
            ) from exc
        raise


def remove_path(path: Path) -> None:
    """Remove a file, a symlink (not what it points to) or a folder tree; nothing if absent."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
