"""The `anchor` command line."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from anchor.config import BUILTIN_AVATARS, Settings, load_settings
from anchor.errors import AnchorError, InputError

app = typer.Typer(help="anchor: a self-hosted AI news presenter. Text in, a lip-synced anchor video out.", no_args_is_help=True)
avatar_app = typer.Typer(help="Prepare and list avatars.", no_args_is_help=True)
app.add_typer(avatar_app, name="avatar")
console = Console(stderr=True)
out = Console()

ConfigOpt = typer.Option(None, "--config", "-c", help="A YAML settings file (overrides config/default.yaml).")


@contextmanager
def _errors() -> Iterator[None]:
    """Turn anchor errors into a clear message and a non-zero exit."""
    try:
        yield
    except InputError as e:
        where = f" [{e.field}]" if e.field else ""
        console.print(f"[bold red]error{where}:[/] {e}")
        raise typer.Exit(2) from None
    except AnchorError as e:
        console.print(f"[bold red]failed:[/] {e}")
        raise typer.Exit(1) from None


def _settings(config: Optional[Path]) -> Settings:
    with _errors():
        return load_settings(config)


def _parse_size(size: Optional[str]) -> tuple[Optional[int], Optional[int]]:
    if not size:
        return None, None
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size {size!r} must look like 1280x720", field="size") from None
    return w, h


@app.command()
def say(
    text: str = typer.Argument(..., help="What the anchor says (English or Mandarin; detected unless --lang)."),
    output: Path = typer.Option(Path("out/say.mp4"), "--output", "-o", help="MP4 to write."),
    avatar: Optional[str] = typer.Option(None, "--avatar", "-a", help="Avatar name (see `anchor avatar list`)."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="Language: en or zh (default: detect)."),
    voice: Optional[str] = typer.Option(None, "--voice", help="Voice id (default: the language's voice)."),
    rate: Optional[int] = typer.Option(None, "--rate", help="Speaking rate, words per minute (80-450)."),
    pitch: Optional[int] = typer.Option(None, "--pitch", help="Pitch 0-99."),
    size: Optional[str] = typer.Option(None, "--size", help="Frame size WxH, e.g. 1920x1080."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Render TEXT spoken by an avatar into an MP4."""
    from anchor.jobs.say import SayRequest, say as run_say

    settings = _settings(config)
    with _errors():
        width, height = _parse_size(size)
        if output.parent and not output.parent.exists() and output.parent == Path("out"):
            output.parent.mkdir(parents=True, exist_ok=True)
        request = SayRequest(text, output, avatar, lang, voice, rate, pitch, width, height)
        with Progress(
            TextColumn("[bold]{task.description:<8}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=console
        ) as bar:
            task = bar.add_task("speech", total=1.0)

            def progress(stage: str, done: float) -> None:
                bar.update(task, description=stage, completed=done)

            result = run_say(settings, request, progress)
    out.print(
        f"wrote {result.output}  ({result.frames} frames, {result.speech.duration:.2f} s, "
        f"language {result.speech.language}, voice {result.speech.voice})"
    )


@avatar_app.command("add")
def avatar_add(
    name: str = typer.Argument(..., help="Avatar name: lowercase letters, digits, '-' or '_'."),
    photo: Path = typer.Argument(..., help="A photo with exactly one frontal face."),
    source: str = typer.Option("own photo", help="Where the photo came from."),
    licence: str = typer.Option("all rights reserved by the uploader", help="The photo's licence."),
    consent: str = typer.Option("the person shown consented to this use", help="Who consented to the likeness being animated."),
    force: bool = typer.Option(False, "--force", help="Replace an existing avatar of that name."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Prepare an avatar from one photo and store it under the avatars folder."""
    from anchor.face.prepare import prepare_avatar

    settings = _settings(config)
    with _errors():
        settings.avatars_dir.mkdir(parents=True, exist_ok=True)
        with console.status("finding the face and the person ..."):
            pack = prepare_avatar(
                photo, name, settings.avatars_dir, source=source, licence=licence, consent=consent, overwrite=force
            )
    x0, y0, x1, y1 = pack.meta.face_box
    out.print(f"prepared avatar {pack.name!r} at {pack.path} (face {x1 - x0}x{y1 - y0} px)")


@avatar_app.command("list")
def avatar_list(config: Optional[Path] = ConfigOpt) -> None:
    """List the avatars you can use."""
    from anchor.face.avatar import AvatarStore, load_pack

    settings = _settings(config)
    store = AvatarStore(settings.avatars_dir, BUILTIN_AVATARS)
    table = Table("name", "size", "licence", "source", "path")
    with _errors():
        for name in store.names():
            pack = load_pack(store.path_of(name))
            w, h = pack.meta.image_size
            table.add_row(name, f"{w}x{h}", pack.meta.licence, pack.meta.source[:60], str(pack.path))
    out.print(table)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
