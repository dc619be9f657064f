"""An entry's image as a local picture for a bulletin, when it is local or from an allowed host.

Local means a file inside one of the operator's `image_dirs`; remote means an http(s) URL
whose host is in `image_hosts`, fetched through the guarded `Fetcher` (size cap, time
budget) into a cache folder and checked to be a picture. Anything else shows no image.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from anchor.feeds.errors import FeedError
from anchor.feeds.fetch import Fetcher

log = logging.getLogger(__name__)
MAX_IMAGE_BYTES = 5_000_000


def _is_picture(data: bytes) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
            return (im.format or "").lower() or None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def local_image(
    ref: str | None,
    *,
    image_dirs: Sequence[Path] = (),
    image_hosts: Sequence[str] = (),
    fetcher: Fetcher | None = None,
    cache_dir: Path = Path("out/feed_images"),
) -> Path | None:
    """A local picture for `ref` (a path or URL), or None when it is neither local nor allowed, or not a picture."""
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.scheme in ("", "file"):
        path = Path(unquote(parts.path)).resolve()
        inside = any(path.is_relative_to(Path(d).resolve()) for d in image_dirs)
        if inside and path.is_file() and _is_picture(path.read_bytes()[:MAX_IMAGE_BYTES]):
            return path
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or fetcher is None or host not in {h.lower() for h in image_hosts}:
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = hashlib.sha256(ref.encode()).hexdigest()[:24]
    for cached in cache_dir.glob(stem + ".*"):
        return cached
    try:
        data = fetcher.fetch(ref, timeout_s=10, max_bytes=MAX_IMAGE_BYTES).body
    except FeedError as e:
        log.warning("image %s not fetched: %s", ref, e)
        return None
    kind = _is_picture(data)
    if kind not in ("png", "jpeg", "webp", "gif"):
        return None
    out = cache_dir / f"{stem}.{'jpg' if kind == 'jpeg' else kind}"
    out.write_bytes(data)
    return out
