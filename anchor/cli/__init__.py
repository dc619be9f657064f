"""The `anchor` command line. Command groups register themselves on `app` when imported."""

from anchor.cli.common import app
from anchor.cli import avatar, live, render, say, serve, train  # noqa: F401,E402  (registers the commands)

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
