"""Which audio files the channel may open when a client names one (`audio_path` of a queue item).

Only files inside the channel's media roots: the folders the operator lists in the channel
file (`media_roots`, none by default) and the channel's own uploads folder. A path is
resolved with every symlink followed before it is compared, so neither `..` nor a link out of
a root gets through. The check runs at the edge (API, CLI) and again where the file is opened
(`Channel.prepare`), so an item stored before a root was removed, or edited in the database
behind the API's back, is refused too.

Every refusal carries the same message, whatever the reason (outside the roots, missing,
unreadable, a folder), so that a client learns nothing about which paths exist.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from anchor.errors import InputError
from anchor.storage import write_file

UPLOAD_PREFIX = "upload-"


class MediaRoots:
    """The folders a channel may read audio from; `uploads` is its own folder for uploaded audio."""

    def __init__(self, roots: Sequence[Path] = (), uploads: Path | None = None) -> None:
        self.roots = [Path(r).expanduser().resolve() for r in roots]
        self.uploads = Path(uploads).expanduser().resolve() if uploads is not None else None

    @property
    def allowed(self) -> list[Path]:
        return [*self.roots, *([self.uploads] if self.uploads is not None else [])]

    def refusal(self, field: str = "audio_path") -> InputError:
        """The one refusal every rejected path gets."""
        hint = "a file inside the channel's media roots (media_roots in the channel file)" if self.roots else ""
        where = f"{hint} or " if hint else ""
        return InputError(
            f"{field} is not an audio file this channel may play: name {where}upload the audio instead "
            "(POST /queue as multipart/form-data with an `audio` file)",
            field=field,
        )

    def resolve(self, name: str, field: str = "audio_path") -> Path:
        """The real path of `name` when it is a readable regular file inside a root; else the refusal.

        A relative `name` is looked up in each root in turn."""
        if not isinstance(name, str) or not name or "\x00" in name:
            raise self.refusal(field)
        given = Path(name).expanduser()
        candidates = [given] if given.is_absolute() else [root / given for root in self.allowed]
        for candidate in candidates:
            try:
                real = candidate.resolve(strict=False)
            except (OSError, RuntimeError):  # RuntimeError: a symlink loop
                continue
            if not any(real.is_relative_to(root) for root in self.allowed):
                continue  # never looked at: whether it exists outside the roots stays unknown
            try:
                if real.is_file() and os.access(real, os.R_OK):
                    return real
            except OSError:  # e.g. a name too long for the file system
                continue
        raise self.refusal(field)

    def store_upload(self, data: bytes, ext: str) -> Path:
        """Keep uploaded audio in the uploads folder under a fresh name; returns its path."""
        if self.uploads is None:
            raise InputError("this channel has no uploads folder for audio", field="audio")
        safe_ext = "".join(ch for ch in ext.lower() if ch.isalnum())[:5] or "bin"
        return write_file(self.uploads / f"{UPLOAD_PREFIX}{secrets.token_hex(8)}.{safe_ext}", data)

    def is_upload(self, path: str | Path | None) -> bool:
        """True for a file this channel stored from an upload (it may be deleted with its item)."""
        if path is None or self.uploads is None:
            return False
        p = Path(path)
        return p.parent == self.uploads and p.name.startswith(UPLOAD_PREFIX)
