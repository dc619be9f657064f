"""`anchor avatar add|list`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from anchor.cli.common import ConfigOpt, app, console, errors, out, settings_from
from anchor.config import BUILTIN_AVATARS
from anchor.errors import InputError

avatar_app = typer.Typer(help="Prepare and list avatars.", no_args_is_help=True)
app.add_typer(avatar_app, name="avatar")


PHOTO_CONSENT = "the person shown consented to this use"


@avatar_app.command("add")
def avatar_add(
    name: str = typer.Argument(..., help="Avatar name: lowercase letters, digits, '-' or '_'."),
    photo: Path | None = typer.Argument(None, help="A photo with exactly one frontal face (or use --video)."),
    video: Path | None = typer.Option(
        None, "--video", help="A recording (10 s to 10 min) of one person facing the camera: a video avatar."
    ),
    source: str = typer.Option("own photo", help="Where the photo or recording came from."),
    licence: str = typer.Option("all rights reserved by the uploader", help="The photo's or recording's licence."),
    consent: str | None = typer.Option(
        None, help="Who consented to the likeness being animated (required for --video)."
    ),
    keep_background: bool = typer.Option(
        False,
        "--keep-background",
        help="Video avatars: keep the recorded background instead of cutting the person out.",
    ),
    start: float = typer.Option(0.0, "--start", help="Video avatars: use the recording from this second."),
    stop: float | None = typer.Option(None, "--stop", help="Video avatars: ... up to this second."),
    force: bool = typer.Option(False, "--force", help="Replace an existing avatar of that name."),
    config: Path | None = ConfigOpt,
) -> None:
    """Prepare an avatar from one photo, or from a recording with --video, under the avatars folder."""
    settings = settings_from(config)
    with errors():
        if (photo is None) == (video is None):
            raise InputError("give either a PHOTO or --video FILE (one of them)", field="photo" if photo else "video")
        settings.avatars_dir.mkdir(parents=True, exist_ok=True)
        if video is not None:
            if consent is None or not consent.strip():
                raise InputError(
                    "--consent is required for a video avatar: say who agreed to this person being animated",
                    field="consent",
                )
            path = _add_video(
                name, video, settings.avatars_dir, source, licence, consent, keep_background, start, stop, force
            )
            from anchor.face.video.pack import load_video_pack

            vp = load_video_pack(path)
            stats = vp.info.stats
            out.print(
                f"prepared video avatar {name!r} at {path}: {stats.get('idle_seconds', 0):.1f} s of idle footage in "
                f"{len(vp.graph.pieces)} pieces, {vp.info.bank_size} mouths ({stats.get('build_seconds', 0):.0f} s)"
            )
            return
        from anchor.face.prepare import prepare_avatar

        assert photo is not None
        with console.status("finding the face and the person ..."):
            pack = prepare_avatar(
                photo, name, settings.avatars_dir, source=source, licence=licence,
                consent=consent if consent is not None else PHOTO_CONSENT, overwrite=force,
            )  # fmt: skip
    x0, y0, x1, y1 = pack.meta.face_box
    out.print(f"prepared avatar {pack.name!r} at {pack.path} (face {x1 - x0}x{y1 - y0} px)")


def _add_video(
    name: str, video: Path, avatars_dir: Path, source: str, licence: str, consent: str,
    keep_background: bool, start: float, stop: float | None, force: bool,
) -> Path:  # fmt: skip
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from anchor.face.video.ingest import IngestOptions, build_video_avatar

    with Progress(
        TextColumn("[bold]{task.description:<8}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("check", total=1.0)

        def progress(stage: str, done: float) -> None:
            bar.update(task, description=stage, completed=done)

        return build_video_avatar(
            video, name, avatars_dir, source=source, licence=licence, consent=consent, overwrite=force,
            options=IngestOptions(keep_background=keep_background, start_s=start, stop_s=stop), progress=progress,
        )  # fmt: skip


@avatar_app.command("list")
def avatar_list(config: Path | None = ConfigOpt) -> None:
    """List the avatars you can use."""
    from anchor.face.avatar import AvatarStore, load_pack

    settings = settings_from(config)
    store = AvatarStore(settings.avatars_dir, BUILTIN_AVATARS)
    table = Table("name", "kind", "size", "licence", "source", "consent", "path")
    with errors():
        for name in store.names():
            pack = load_pack(store.path_of(name))
            w, h = pack.meta.image_size
            table.add_row(
                name,
                pack.meta.kind,
                f"{w}x{h}",
                pack.meta.licence,
                pack.meta.source[:60],
                pack.meta.consent[:80],
                str(pack.path),
            )
    out.print(table)
