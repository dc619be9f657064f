"""`anchor live` and `anchor queue add|ls|rm`."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer
from rich.table import Table

from anchor.cli.common import ConfigOpt, app, console, errors, out, settings_from

queue_app = typer.Typer(help="Edit a channel's script queue (works while the channel runs).", no_args_is_help=True)
app.add_typer(queue_app, name="queue")


@app.command()
def live(
    channel_file: Path = typer.Argument(..., help="Channel file, e.g. config/channel.example.yaml."),
    seconds: float | None = typer.Option(None, help="Stop after this many seconds (default: run until Ctrl-C)."),
    config: Path | None = ConfigOpt,
) -> None:
    """Run a 24/7 channel from its script queue, pushing to its RTMP outputs, until stopped."""
    from anchor.live.config import GENERATE_KEY, load_channel_config
    from anchor.live.keys import control_key
    from anchor.netguard import check_exposure

    settings = settings_from(config)
    with errors():  # refused before anything heavy is loaded or built
        cfg = load_channel_config(channel_file)
        key = control_key(cfg)
        check_exposure(cfg.control.host, {"control": key} if key else {}, "control.api_key")

    from anchor.api.channel import channel_app, channel_keys
    from anchor.api.server import ApiServer
    from anchor.api.viewing import policy_for
    from anchor.live.runtime import build_channel
    from anchor.program.pipeline import Pipeline

    with errors():
        runtime = build_channel(Pipeline(settings), cfg)
    channel, broadcaster = runtime.channel, runtime.broadcaster
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    channel.listeners.append(lambda e: console.print(f"[dim]frame {e.frame}[/] item {e.item_id} {e.kind} {e.reason}"))
    viewing = policy_for(cfg.webrtc, cfg.name, channel_keys(key))
    api = ApiServer(channel_app(channel, key, broadcaster, viewing), cfg.control.host, cfg.control.port)
    try:
        with api, runtime:  # the channel stops first: its viewers and event streams close while the API still runs
            out.print(
                f"channel {cfg.name!r} on air: {len(cfg.outputs)} RTMP output(s), queue {cfg.queue_db}, "
                f"control API http://{cfg.control.host}:{cfg.control.port}/ (viewing: {cfg.webrtc.viewing})",
                highlight=False,
            )
            if cfg.control.api_key == GENERATE_KEY:
                out.print(f"control API key: in {cfg.control_key_file} (made on first start)", highlight=False)
            elif key is None:
                console.print("[yellow]warning:[/] the control API has no key (control.api_key: null)")
            stop.wait(seconds)
    except KeyboardInterrupt:
        pass
    if channel.error is not None:
        console.print(f"[bold red]channel stopped:[/] {channel.error}")
        raise typer.Exit(1)


def _queue(channel_file: Path):
    from anchor.live.config import load_channel_config
    from anchor.live.store import ScriptQueue

    cfg = load_channel_config(channel_file)
    cfg.queue_db.parent.mkdir(parents=True, exist_ok=True)
    return ScriptQueue(cfg.queue_db)


def _media_path(channel_file: Path, audio: str) -> str:
    """`audio` checked against the channel's media roots, as the API checks it."""
    from anchor.live.config import load_channel_config
    from anchor.live.media import MediaRoots

    cfg = load_channel_config(channel_file)
    return str(MediaRoots(cfg.media_roots, cfg.uploads_dir).resolve(audio, field="audio"))


ChannelArg = typer.Option(
    Path("config/channel.example.yaml"), "--channel", help="The channel file whose queue to edit."
)


@queue_app.command("add")
def queue_add(
    text: str | None = typer.Argument(None, help="What the host says (or give --audio)."),
    audio: str | None = typer.Option(
        None, "--audio", help="Play this audio file instead; it must lie inside the channel's media_roots."
    ),
    title: str | None = typer.Option(None, help="Headline for the lower-third."),
    mode: str = typer.Option("append", help="append | next | interrupt"),
    at: str = typer.Option("now", help="For interrupt: now | sentence (end of the current sentence)."),
    priority: int = typer.Option(0, help="Higher plays first."),
    lang: str | None = typer.Option(None, "--lang", help="en or zh (default: detect)."),
    voice: str | None = typer.Option(None, help="Voice id."),
    channel: Path = ChannelArg,
    config: Path | None = ConfigOpt,
) -> None:
    """Add a script item to the channel's queue (after the content policy: held items wait for approval)."""
    from anchor.live.intake import admit
    from anchor.live.items import ItemIn
    from anchor.provenance.policy import ContentPolicy

    settings = settings_from(config)
    with errors():
        spec = ItemIn.parse(
            {
                "text": text,
                "audio_path": _media_path(channel, audio) if audio is not None else None,
                "title": title,
                "mode": mode,
                "interrupt_at": at,
                "priority": priority,
                "language": lang,
                "voice": voice,
            }
        )
        policy = ContentPolicy.from_settings(settings.provenance.policy)
        with _queue(channel) as q:
            item = admit(q, policy, spec)
    held = f"; held for review: {item.policy.get('reason', '')}" if item.state == "held" and item.policy else ""
    out.print(f"queued item {item.id} ({item.mode}){held}")


@queue_app.command("ls")
def queue_ls(channel: Path = ChannelArg, history: int = typer.Option(5, help="Finished items to show.")) -> None:
    """Show what is playing, what is queued and what just played."""
    table = Table("id", "state", "mode", "prio", "title / text", "reason")
    with errors(), _queue(channel) as q:
        for item in q.list() + q.history(history):
            body = item.title or (item.text or str(item.audio_path))[:60]
            table.add_row(str(item.id), item.state, item.mode, str(item.priority), body, item.reason or "")
    out.print(table)


@queue_app.command("rm")
def queue_rm(
    item_id: int = typer.Argument(..., help="Item id (see `anchor queue ls`)."), channel: Path = ChannelArg
) -> None:
    """Remove a waiting item (to stop the item on air, use `anchor queue skip`)."""
    with errors(), _queue(channel) as q:
        q.remove(item_id)
    out.print(f"removed item {item_id}")


@queue_app.command("skip")
def queue_skip(channel: Path = ChannelArg) -> None:
    """Stop the item on air now (through the running channel's control API); the queue goes on."""
    import httpx

    from anchor.errors import BackendError
    from anchor.live.config import load_channel_config

    with errors():
        cfg = load_channel_config(channel)
        url = f"http://{cfg.control.host}:{cfg.control.port}/skip"
        headers = {"Authorization": f"Bearer {cfg.control.api_key}"} if cfg.control.api_key else {}
        try:
            r = httpx.post(url, headers=headers, timeout=5)
        except httpx.HTTPError as e:
            raise BackendError(
                f"the channel's control API at {url} does not answer ({e}); is `anchor live` running?"
            ) from e
        if r.status_code == 409:
            out.print("nothing is on air to skip")
            return
        if r.status_code != 200:
            raise BackendError(f"the channel refused: {r.status_code} {r.text}")
    out.print(f"skipped item {r.json()['skipped']}")
