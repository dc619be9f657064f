"""Why fetching or reading a feed failed, as data a source's state can show."""

from __future__ import annotations

from typing import Literal

from anchor.errors import BackendError

FailureKind = Literal["refused", "timeout", "network", "http", "too_large", "malformed", "unsafe"]


class FeedError(BackendError):
    """A feed could not be fetched or read. `kind` says which way it failed; `retry_after`
    (seconds) is the server's own back-off request when it sent one."""

    def __init__(
        self, message: str, *, kind: FailureKind, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.kind: FailureKind = kind
        self.retry_after = retry_after
