"""The project's error hierarchy: what a user must fix vs. what failed underneath."""

from __future__ import annotations


class AnchorError(Exception):
    """Base of every error anchor raises on purpose."""


class InputError(AnchorError):
    """Something the user gave us is wrong; the message says what to fix.

    `field` names the offending input (CLI argument, API field, file) when known.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(InputError):
    """A named thing (avatar, voice, job) does not exist."""


class BackendError(AnchorError):
    """A backend (TTS engine, encoder, server) failed; `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class StorageFullError(BackendError):
    """The disk (or quota) holding anchor's files is full: nothing was stored; free space and retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class MissingDependencyError(AnchorError):
    """An optional dependency is not installed; the message names the install command."""
