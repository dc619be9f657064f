"""The `anchor` command line. Command groups register themselves on `app` when imported."""

from anchor.cli import avatar, feeds, live, provenance, render, say, serve, train, voices  # noqa: F401  (registers the commands)
from anchor.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
