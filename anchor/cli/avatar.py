"""`anchor avatar add|list`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from anchor.cli.common import ConfigOpt, app, console, errors, out, settings_from
from anchor.config import BUILTIN_AVATARS

avatar_app = typer.Typer(help="Prepare and list avatars.", no_args_is_help=True)
app.add_typer(avatar_app, name="avatar")


@avatar_app.command("add")
def avatar_add(
    name: str = typer.Argument(..., help="Avatar name: lowercase letters, digits, '-' or '_'."),
    photo: Path = typer.Argument(..., help="A photo with exactly one frontal face."),
    source: str = typer.Option("own photo", help="Where the photo came from."),
    licence: str = typer.Option("all rights reserved by the uploader", help="The photo's licence."),
    consent: str = typer.Option(
        "the person shown consented to this use", help="Who consented to the likeness being animated."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing avatar of that name."),
    config: Path | None = ConfigOpt,
) -> None:
    """Prepare an avatar from one photo and store it under the avatars folder."""
    from anchor.face.prepare import prepare_avatar

    settings = settings_from(config)
    with errors():
        settings.avatars_dir.mkdir(parents=True, exist_ok=True)
        with console.status("finding the face and the person ..."):
            pack = prepare_avatar(
                photo, name, settings.avatars_dir, source=source, licence=licence, consent=consent, overwrite=force
            )
    x0, y0, x1, y1 = pack.meta.face_box
    out.print(f"prepared avatar {pack.name!r} at {pack.path} (face {x1 - x0}x{y1 - y0} px)")


@avatar_app.command("list")
def avatar_list(config: Path | None = ConfigOpt) -> None:
    """List the avatars you can use."""
    from anchor.face.avatar import AvatarStore, load_pack

    settings = settings_from(config)
    store = AvatarStore(settings.avatars_dir, BUILTIN_AVATARS)
    table = Table("name", "size", "licence", "source", "consent", "path")
    with errors():
        for name in store.names():
            pack = load_pack(store.path_of(name))
            w, h = pack.meta.image_size
            table.add_row(
                name, f"{w}x{h}", pack.meta.licence, pack.meta.source[:60], pack.meta.consent[:80], str(pack.path)
            )
    out.print(table)
