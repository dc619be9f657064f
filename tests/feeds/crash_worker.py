"""A news desk in its own process, for the SIGKILL tests: `python -m tests.feeds.crash_worker DB URL MODE`.

MODE "hang-before-add:N" / "hang-after-add:N" makes the N-th queue add hang (writing DB.hang
first) just before / just after the item is stored, so the test can kill the process exactly
inside the claim window; "run" just runs.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from anchor.feeds.config import FeedsConfig
from anchor.feeds.desk import NewsDesk
from anchor.live.items import Item, ItemIn
from anchor.live.store import ScriptQueue


class HangingQueue:
    def __init__(self, queue: ScriptQueue, mode: str, marker: Path) -> None:
        self.queue, self.marker = queue, marker
        self.where, _, n = mode.partition(":")
        self.n = int(n or 0)
        self.adds = 0

    def _hang(self) -> None:
        self.marker.write_text(self.where)
        while True:
            time.sleep(1)

    def add(self, item: ItemIn) -> Item:
        self.adds += 1
        if self.where == "hang-before-add" and self.adds == self.n:
            self._hang()
        added = self.queue.add(item)
        if self.where == "hang-after-add" and self.adds == self.n:
            self._hang()
        return added

    def list(self, *args: object, **kw: object) -> list[Item]:
        return self.queue.list(*args, **kw)  # type: ignore[arg-type]


def main() -> None:
    db, url, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    feeds = FeedsConfig.model_validate(
        {
            "sources": [
                {
                    "name": "wire",
                    "url": url,
                    "to": ["queue"],
                    "interval_s": 1,
                    "max_per_poll": 50,
                    "max_age_hours": None,
                }
            ],
            "allow_networks": ["127.0.0.1/32"],
        }  # fmt: skip
    )
    queue = ScriptQueue(db)
    desk = NewsDesk.for_channel(db, feeds, queue=HangingQueue(queue, mode, db.with_suffix(".hang")))
    desk.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
