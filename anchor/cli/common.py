"""The `anchor` command line: shared pieces (the app, error handling, settings).

Each command group lives in its own module and registers itself on `app`; `anchor.cli.main`
imports them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from anchor.config import Settings, load_settings
from anchor.errors import AnchorError, InputError

app = typer.Typer(
    help="anchor: a self-hosted AI news presenter. Text in, a lip-synced anchor video out.", no_args_is_help=True
)
console = Console(stderr=True)
out = Console()

ConfigOpt = typer.Option(None, "--config", "-c", help="A YAML settings file (overrides config/default.yaml).")


@contextmanager
def errors() -> Iterator[None]:
    """Turn anchor errors into a clear message and a non-zero exit."""
    try:
        yield
    except InputError as e:
        where = escape(f" [{e.field}]") if e.field else ""
        console.print(f"[bold red]error{where}:[/] {escape(str(e))}")
        raise typer.Exit(2) from None
    except AnchorError as e:
        console.print(f"[bold red]failed:[/] {escape(str(e))}")
        raise typer.Exit(1) from None


def settings_from(config: Path | None) -> Settings:
    with errors():
        return load_settings(config)


def parse_size(size: str | None) -> tuple[int | None, int | None]:
    if not size:
        return None, None
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size {size!r} must look like 1280x720", field="size") from None
    return w, h
