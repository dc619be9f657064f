"""The local content index: which content id a watermark's 32-bit content number stands for.

`output_provenance` appends one JSON line per output (content id, its short number, kind,
title, time) to `provenance.index_file`; `anchor verify` looks the number it reads from the
pixels up here, so a re-encoded copy found on a platform is traced back to the clip (and, with
the as-run record, to what was said).
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anchor.provenance.payload import short_content

_LOCK = threading.Lock()


def record_output(index_file: Path, content_id: str, *, kind: str, title: str, issuer: str) -> None:
    """Append one output to the index (created if missing)."""
    entry = {
        "content": f"{short_content(content_id):08x}",
        "content_id": content_id,
        "kind": kind,
        "title": title,
        "issuer": issuer,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    index_file = Path(index_file)
    index_file.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK, open(index_file, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def lookup(index_file: Path, content: int) -> list[dict[str, Any]]:
    """Every indexed output whose short content number is `content` (usually one)."""
    index_file = Path(index_file)
    if not index_file.is_file():
        return []
    want = f"{content:08x}"
    found = []
    with open(index_file, encoding="utf-8") as f:
        for line in f:
            if want in line:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("content") == want:
                    found.append(entry)
    return found
