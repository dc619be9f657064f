"""`anchor say`: one clip from text."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from anchor.cli.common import ConfigOpt, app, console, errors, out, parse_size, settings_from
from anchor.errors import InputError


@app.command()
def say(
    text: str = typer.Argument(
        "", help="What the anchor says (English or Mandarin; detected unless --lang). Optional with --audio."
    ),
    output: Path = typer.Option(Path("out/say.mp4"), "--output", "-o", help="MP4 to write."),
    avatar: str | None = typer.Option(None, "--avatar", "-a", help="Avatar name (see `anchor avatar list`)."),
    lang: str | None = typer.Option(None, "--lang", "-l", help="Language: en or zh (default: detect)."),
    voice: str | None = typer.Option(None, "--voice", help="Voice id (default: the language's voice)."),
    rate: int | None = typer.Option(None, "--rate", help="Speaking rate, words per minute (80-450)."),
    pitch: int | None = typer.Option(None, "--pitch", help="Pitch 0-99."),
    size: str | None = typer.Option(None, "--size", help="Frame size WxH, e.g. 1920x1080."),
    background: str | None = typer.Option(
        None, "--background", help="'#rrggbb' or a gradient '#rrggbb,#rrggbb' (default: the studio look)."
    ),
    background_image: Path | None = typer.Option(
        None,
        "--background-image",
        help="A PNG/JPEG picture behind the anchor, scaled to cover the frame (instead of --background).",
    ),
    captions: bool = typer.Option(
        True, "--captions/--no-captions", help="Write .srt and .vtt captions beside the MP4."
    ),
    audio: Path | None = typer.Option(
        None,
        "--audio",
        help="Speak this recorded voice (wav, mp3, m4a, ogg/opus, flac …) instead of synthesizing TEXT.",
    ),
    config: Path | None = ConfigOpt,
) -> None:
    """Render TEXT (or the voice in --audio) spoken by an avatar into an MP4."""
    from anchor.program.clip import SayRequest
    from anchor.program.clip import say as run_say
    from anchor.program.pipeline import Pipeline

    settings = settings_from(config)
    with errors():
        width, height = parse_size(size)
        if audio is None and not text.strip():
            raise InputError("give TEXT to speak or --audio FILE with a recorded voice", field="text")
        if output.parent and not output.parent.exists() and output.parent == Path("out"):
            output.parent.mkdir(parents=True, exist_ok=True)
        request = SayRequest(
            text,
            output,
            avatar,
            lang,
            voice,
            rate,
            pitch,
            width,
            height,
            audio,
            captions=captions,
            background=background,
            background_image=background_image,
        )
        with Progress(
            TextColumn("[bold]{task.description:<8}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("speech", total=1.0)

            def progress(stage: str, done: float) -> None:
                bar.update(task, description=stage, completed=done)

            result = run_say(Pipeline(settings), request, progress)
    out.print(
        f"wrote {result.output}  ({result.frames} frames, {result.speech.duration:.2f} s, "
        f"language {result.speech.language}, voice {result.speech.voice})"
    )
