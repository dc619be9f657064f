"""The `anchor` command line."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from anchor.config import BUILTIN_AVATARS, Settings, load_settings
from anchor.errors import AnchorError, InputError

app = typer.Typer(help="anchor: a self-hosted AI news presenter. Text in, a lip-synced anchor video out.", no_args_is_help=True)
avatar_app = typer.Typer(help="Prepare and list avatars.", no_args_is_help=True)
app.add_typer(avatar_app, name="avatar")
queue_app = typer.Typer(help="Edit a channel's script queue (works while the channel runs).", no_args_is_help=True)
app.add_typer(queue_app, name="queue")
console = Console(stderr=True)
out = Console()

ConfigOpt = typer.Option(None, "--config", "-c", help="A YAML settings file (overrides config/default.yaml).")


@contextmanager
def _errors() -> Iterator[None]:
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


@app.command()
def live(
    channel_file: Path = typer.Argument(..., help="Channel file, e.g. config/channel.example.yaml."),
    seconds: Optional[float] = typer.Option(None, help="Stop after this many seconds (default: run until Ctrl-C)."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Run a 24/7 channel from its script queue, pushing to its RTMP outputs, until stopped."""
    import signal
    import threading

    from anchor.face.avatar import AvatarStore
    from anchor.live.channel import Channel
    from anchor.live.config import load_channel_config
    from anchor.live.store import ScriptQueue
    from anchor.speech.registry import make_speech_backend
    from streaming.clock import SystemClock
    from streaming.rtmp import RtmpSink

    settings = _settings(config)
    with _errors():
        cfg = load_channel_config(channel_file)
        avatar = AvatarStore(settings.avatars_dir, BUILTIN_AVATARS).load(cfg.avatar)
        cfg.queue_db.parent.mkdir(parents=True, exist_ok=True)
        queue = ScriptQueue(cfg.queue_db)
    sinks = [RtmpSink(o.url, cfg.width, cfg.height, cfg.fps, video_bitrate=o.video_bitrate, preset=o.preset) for o in cfg.outputs]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    playlist = cfg.idle.playlist if cfg.idle.policy == "playlist" else None
    channel = Channel(
        settings, queue, make_speech_backend(settings.speech), avatar, sinks, SystemClock(),
        width=cfg.width, height=cfg.height, fps=cfg.fps, recover=cfg.recover, idle_playlist=playlist,
    )  # fmt: skip
    channel.listeners.append(lambda e: console.print(f"[dim]frame {e.frame}[/] item {e.item_id} {e.kind} {e.reason}"))
    out.print(f"channel {cfg.name!r} on air: {len(sinks)} output(s), queue {cfg.queue_db}")
    try:
        with channel:
            stop.wait(seconds)
    except KeyboardInterrupt:
        pass
    finally:
        queue.close()
    if channel.error is not None:
        console.print(f"[bold red]channel stopped:[/] {channel.error}")
        raise typer.Exit(1)


def _queue(channel_file: Path):  # noqa: ANN202 - ScriptQueue, imported lazily
    from anchor.live.config import load_channel_config
    from anchor.live.store import ScriptQueue

    cfg = load_channel_config(channel_file)
    cfg.queue_db.parent.mkdir(parents=True, exist_ok=True)
    return ScriptQueue(cfg.queue_db)


ChannelArg = typer.Option(Path("config/channel.example.yaml"), "--channel", help="The channel file whose queue to edit.")


@queue_app.command("add")
def queue_add(
    text: str = typer.Argument(..., help="What the host says."),
    title: Optional[str] = typer.Option(None, help="Headline for the lower-third."),
    mode: str = typer.Option("append", help="append | next | interrupt"),
    at: str = typer.Option("now", help="For interrupt: now | sentence (end of the current sentence)."),
    priority: int = typer.Option(0, help="Higher plays first."),
    lang: Optional[str] = typer.Option(None, "--lang", help="en or zh (default: detect)."),
    voice: Optional[str] = typer.Option(None, help="Voice id."),
    channel: Path = ChannelArg,
) -> None:
    """Add a script item to the channel's queue."""
    from anchor.live.items import ItemIn

    with _errors():
        spec = ItemIn.parse(
            {"text": text, "title": title, "mode": mode, "interrupt_at": at, "priority": priority, "language": lang, "voice": voice}
        )
        with _queue(channel) as q:
            item = q.add(spec)
    out.print(f"queued item {item.id} ({item.mode})")


@queue_app.command("ls")
def queue_ls(channel: Path = ChannelArg, history: int = typer.Option(5, help="Finished items to show.")) -> None:
    """Show what is playing, what is queued and what just played."""
    table = Table("id", "state", "mode", "prio", "title / text", "reason")
    with _errors(), _queue(channel) as q:
        for item in q.list() + q.history(history):
            body = item.title or (item.text or str(item.audio_path))[:60]
            table.add_row(str(item.id), item.state, item.mode, str(item.priority), body, item.reason or "")
    out.print(table)


@queue_app.command("rm")
def queue_rm(item_id: int = typer.Argument(..., help="Item id (see `anchor queue ls`)."), channel: Path = ChannelArg) -> None:
    """Remove a queued item (a playing item cannot be removed; it finishes or is interrupted)."""
    with _errors(), _queue(channel) as q:
        q.remove(item_id)
    out.print(f"removed item {item_id}")


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
