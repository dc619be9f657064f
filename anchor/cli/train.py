"""`anchor train-lipsync`: train the audio-to-mouth model on speech synthesized here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from anchor.cli.common import app, errors, out


@app.command("train-lipsync")
def train_lipsync(
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Where to write the weights (default: the committed file in anchor/lipsync/model/).",
    ),
    seed: int = typer.Option(11, help="Seed for the data plan, augmentation and initialization."),
    english: int = typer.Option(1800, help="English espeak utterances."),
    mandarin: int = typer.Option(500, help="Mandarin espeak utterances."),
    other: int = typer.Option(300, help="Pseudo-word utterances in de/es/fr/it/pt."),
    festival: int = typer.Option(
        1600,
        help="English utterances from the Festival voices (needs festival, festvox-us-slt-hts, festvox-kallpc16k).",
    ),
    piper: int = typer.Option(0, help="Piper-voice utterances (0 keeps the Piper voice held out for evaluation)."),
    copies: int = typer.Option(3, help="Augmented copies of each utterance."),
    steps: int = typer.Option(4500, min=10, help="Optimizer steps."),
    batch: int = typer.Option(16, help="Crops per step."),
    channels: int = typer.Option(96, help="Network width."),
    spectral: float = typer.Option(
        0.8, min=0.0, max=1.0, help="Share of training crops given a random equalizer and frequency warp."
    ),
    lookahead: int = typer.Option(
        8, min=0, max=25, help="Feature frames (10 ms) the model reads ahead of the frame it predicts."
    ),
    lr: float | None = typer.Option(None, help="Peak learning rate (default 2e-3)."),
) -> None:
    """Synthesize training speech with known timing, augment it, and train the audio-to-mouth model."""
    from anchor.lipsync.model.infer import DEFAULT_WEIGHTS
    from anchor.lipsync.model.train import TrainConfig, train

    output = output or DEFAULT_WEIGHTS
    cfg = TrainConfig(
        seed=seed, english=english, mandarin=mandarin, other=other, festival=festival, piper=piper, copies=copies,
        steps=steps, batch=batch, channels=channels, spectral=spectral, lookahead=lookahead,
    )  # fmt: skip
    if lr is not None:
        cfg = dataclasses.replace(cfg, lr=lr)
    with errors():
        meta = train(cfg, output, log=lambda m: out.print(m, highlight=False))
    out.print(f"trained in {meta['data_seconds']} s (data) + {meta['train_seconds']} s (training): {output}")
