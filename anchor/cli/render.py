"""`anchor render` (a rundown -> a bulletin) and `anchor inspect` (the AI marks of a video)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from anchor.cli.common import ConfigOpt, app, console, errors, out, settings_from
from anchor.errors import InputError


@app.command()
def render(
    rundown: Path | None = typer.Argument(None, help="Rundown file (YAML or JSON), e.g. config/rundown.example.yaml."),
    output: Path = typer.Option(
        Path("out/bulletin.mp4"), "--output", "-o", help="MP4 to write (captions go beside it as .srt and .vtt)."
    ),
    aspect: str | None = typer.Option(None, "--aspect", help="Override the rundown's aspect: 16:9, 9:16 or 1:1."),
    resolution: int | None = typer.Option(None, "--resolution", help="Override the resolution: 720 or 1080."),
    burn_captions: bool | None = typer.Option(
        None, "--burn-captions/--no-burn-captions", help="Burn captions into the picture."
    ),
    schema: bool = typer.Option(False, "--schema", help="Print the rundown format as JSON Schema and exit."),
    config: Path | None = ConfigOpt,
) -> None:
    """Render a rundown into a news bulletin with graphics and captions."""
    from anchor.rundown import load_rundown, rundown_json_schema

    if schema:
        out.print_json(json.dumps(rundown_json_schema()))
        return
    settings = settings_from(config)
    with errors():
        from anchor.program.bulletin import render_rundown
        from anchor.program.pipeline import Pipeline

        if rundown is None:
            raise InputError("give a rundown file (or --schema)", field="rundown")
        if aspect is not None and aspect not in ("16:9", "9:16", "1:1"):
            raise InputError(f"--aspect {aspect!r} must be 16:9, 9:16 or 1:1", field="aspect")
        if resolution is not None and resolution not in (720, 1080):
            raise InputError(f"--resolution {resolution} must be 720 or 1080", field="resolution")
        rd = load_rundown(rundown)
        if output.parent == Path("out"):
            output.parent.mkdir(parents=True, exist_ok=True)
        with Progress(
            TextColumn("{task.description:<42}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            tasks: dict[int, TaskID] = {}
            n = len(rd.stories)
            if rd.programme.graphics.intro:
                tasks[-1] = bar.add_task("intro", total=1.0)
            for i, s in enumerate(rd.stories):
                name = s.headline or (s.text or str(s.audio))[:30]
                tasks[i] = bar.add_task(f"{i + 1:>2}. {name[:36]}", total=1.0)
            if rd.programme.graphics.outro:
                tasks[n] = bar.add_task("outro", total=1.0)

            def progress(part: str, index: int, done: float) -> None:
                if index in tasks:
                    bar.update(tasks[index], completed=(0.1 * done if part == "speech" else 0.1 + 0.9 * min(1.0, done)))

            result = render_rundown(
                Pipeline(settings),
                rd,
                output,
                progress,
                aspect=aspect,
                resolution=resolution,
                burn_captions=burn_captions,
            )
    out.print(
        f"wrote {result.output}  ({result.width}x{result.height}, {result.frames} frames, {result.duration:.1f} s, "
        f"{len(result.stories)} stories)\ncaptions {result.srt} and {result.vtt}"
    )


@app.command()
def inspect(video: Path = typer.Argument(..., help="A video file.")) -> None:
    """Print the AI-generated marks in a video's metadata (exit 1 if it has none)."""
    from anchor.disclosure import AI_KEYS, read_ai_marks

    with errors():
        meta = read_ai_marks(video)
    shown = {k: meta[k] for k in AI_KEYS if k in meta}
    for k, v in shown.items():
        out.print(f"{k:<14} {v}")
    if meta.get("ai_generated") != "true":
        console.print(f"[bold yellow]{video}: no AI-generated mark in its metadata[/]")
        raise typer.Exit(1)
