"""The storage directory's layout, shared by the API and every worker.

```
<storage_dir>/
  anchor.db              embedded mode only: job records (SQLite, WAL)
  jobs/<job id>/         one folder per job; nothing else is ever written there
    input.<ext>          uploaded audio, when the job was made from audio
    background.<png|jpg> uploaded backdrop picture, when the job has one
    video.mp4            the finished video (written under a temporary name, renamed when complete)
    .*.part              temporary files of writes under way; a killed process's are swept at start-up
    captions.srt         captions, when the job produced them
    captions.vtt
```

Every path is built from a job id checked against JOB_ID_RE and fixed file names, so no
request can name a path outside the storage directory. An S3-compatible store can replace
the directory by mapping `jobs/<id>/<name>` to object keys.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from anchor.errors import NotFoundError
from anchor.storage import sweep_parts

JOB_ID_RE = re.compile(r"vid_[0-9a-f]{20}")  # always fullmatch: `$` would let "vid_...\n" through
VIDEO_FILE = "video.mp4"
CAPTION_FILES = {"srt": "captions.srt", "vtt": "captions.vtt"}
# Names a say() that writes sidecar captions next to the MP4 may use; they are renamed to CAPTION_FILES.
OUTPUT_FILES = frozenset({VIDEO_FILE, *CAPTION_FILES.values()})
BACKGROUND_STEM = "background"  # + "." + png|jpg: the uploaded backdrop picture


class JobFiles:
    """Paths of one storage directory."""

    def __init__(self, storage_dir: Path) -> None:
        self.root = Path(storage_dir).resolve()

    @property
    def db_path(self) -> Path:
        return self.root / "anchor.db"

    def job_dir(self, job_id: str, *, create: bool = False) -> Path:
        if not isinstance(job_id, str) or not JOB_ID_RE.fullmatch(job_id):
            raise NotFoundError(f"no video job {job_id!r}", field="id")
        d = self.root / "jobs" / job_id
        if create:
            d.mkdir(parents=True, exist_ok=True)
        return d

    def output(self, job_id: str, name: str) -> Path:
        if name not in OUTPUT_FILES:
            raise NotFoundError(f"no file {name!r}", field="file")
        return self.job_dir(job_id) / name

    def remove(self, job_id: str) -> None:
        d = self.job_dir(job_id)
        if d.is_dir():
            shutil.rmtree(d, ignore_errors=True)

    def sweep_parts(self, busy: Callable[[str], bool] = lambda _: False) -> int:
        """Remove temporary `.part` files a killed process left in job folders, except in the
        folders of jobs `busy(job_id)` says may be running elsewhere; returns how many went."""

        def keep(part: Path) -> bool:
            job_id = part.parent.name
            return part.parent.parent != self.root / "jobs" or busy(job_id)

        return len(sweep_parts(self.root / "jobs", keep))
