"""Train the audio-to-mouth model (`anchor train-lipsync`).

Recipe (seeded; defaults are the committed model's):
1. Synthesize utterances with espeak-ng: English generated sentences over 6 accents x 40
   variants, Mandarin (cmn x variants), and pseudo-word sentences in de/es/fr/it/pt, each at a
   random rate (120-260 wpm) and pitch (15-85); English sentences from the two Festival
   voices (festival.py: HTS slt and kal diphone; the diphone voice at random duration
   stretches); optionally `piper` utterances from the Piper voice at random length scales.
   Held-out voices (data.HELD_OUT_*) and held-out sentences (corpus.is_held_out) are never used.
2. Targets: the timing path's 25 fps MouthTrack of each utterance (exact phoneme timings).
3. Each utterance appears `copies` times, each copy augmented independently (data.augment).
4. A 9-block causal TCN (net.AudioMouthNet, 96 channels, 0.34 M parameters) is trained with Adam and a
   cosine learning rate on random 4 s crops (plus 1 s of context), loss = smooth-L1 on the
   four parameters + MSE on the visible opening + 0.3 x viseme cross-entropy, read `lookahead`
   feature frames late (the fixed look-ahead). A share `spectral` of the crops gets a random
   equalizer and frequency warp on its features (spectral.py).
One torch thread, so it shares a 2-core machine politely. espeak's audio varies by a few
samples between runs, so reruns give close, not bit-identical, weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from anchor.config import PiperSettings
from anchor.errors import BackendError
from anchor.lipsync.model.corpus import sentences
from anchor.lipsync.model.data import Example, augment, espeak_utterances, example_from, speech_settings
from anchor.lipsync.model.festival import FESTIVAL_VOICES, INSTALL_HINT, festival_available, synthesize_many
from anchor.lipsync.model.net import AudioMouthNet
from anchor.lipsync.model.spectral import augment_crops
from anchor.speech.espeak import EspeakBackend
from anchor.speech.piper import PiperBackend

LOOKAHEAD = 8
"""Default feature frames (10 ms each) the model reads ahead: 80 ms."""
WARMUP = 100  # feature frames of context before a crop's loss starts
CROP = 100  # video frames (4 s) per training crop
PARAM_WEIGHTS = (2.0, 1.0, 1.0, 2.0)

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights."""

    seed: int = 11
    english: int = 1800
    mandarin: int = 500
    other: int = 300
    piper: int = 0
    festival: int = 1600
    copies: int = 3
    steps: int = 4500
    batch: int = 16
    lr: float = 2e-3
    channels: int = 96
    spectral: float = 0.8
    lookahead: int = LOOKAHEAD
    held_out_piper: bool = field(default=True)


def build_examples(cfg: TrainConfig, log: Log) -> list[Example]:
    """Synthesize and augment the training set."""
    if cfg.festival:
        if not festival_available():  # before minutes of espeak synthesis, not after
            raise BackendError(
                f"festival with voices {', '.join(FESTIVAL_VOICES)} is not installed: {INSTALL_HINT} (or --festival 0)"
            )
    rng = np.random.default_rng(cfg.seed)
    backend = EspeakBackend(speech_settings())
    out: list[Example] = []
    t0 = time.time()
    plan = list(espeak_utterances(rng, {"en": cfg.english, "zh": cfg.mandarin, "other": cfg.other}))
    for i, (lang, voice, text, rate, pitch) in enumerate(plan):
        speech = backend.synthesize(text, language=lang, voice=voice, rate=rate, pitch=pitch)
        for _ in range(cfg.copies):
            pcm, ph = augment(speech.pcm, speech.phonemes, rng)
            out.append(example_from(pcm, ph, voice))
        if i % 200 == 0:
            log(f"data: {i}/{len(plan)} espeak utterances ({time.time() - t0:.0f} s)")
    if cfg.festival:
        texts = sentences("en", cfg.festival, rng, held_out=False)
        requests = [
            (FESTIVAL_VOICES[i % len(FESTIVAL_VOICES)], t, float(rng.uniform(0.8, 1.3))) for i, t in enumerate(texts)
        ]
        for utt in synthesize_many(requests):
            for _ in range(cfg.copies):
                pcm, ph = augment(utt.pcm, utt.phonemes, rng)
                out.append(example_from(pcm, ph, utt.voice))
        log(f"data: {len(requests)} Festival utterances ({time.time() - t0:.0f} s)")
    if cfg.piper:
        settings = speech_settings().model_copy(update={"piper": PiperSettings(threads=1)})
        piper = PiperBackend(settings)
        for text in sentences("en", cfg.piper, rng, held_out=False):
            speech = piper.synthesize(text, language="en", rate=int(rng.integers(130, 211)))
            for _ in range(cfg.copies):
                pcm, ph = augment(speech.pcm, speech.phonemes, rng)
                out.append(example_from(pcm, ph, "piper"))
        log(f"data: {cfg.piper} Piper utterances ({time.time() - t0:.0f} s)")
    return out


def train(cfg: TrainConfig, output: Path, log: Log = print) -> dict[str, object]:
    """Build the data, train, and save the checkpoint to `output`; returns its metadata."""
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    started = time.time()
    examples = build_examples(cfg, log)
    data_s = time.time() - started
    feats = np.concatenate([e.features for e in examples])
    params = np.concatenate([e.params for e in examples])
    labels = np.concatenate([e.labels for e in examples])
    mean, std = feats.mean(axis=0), feats.std(axis=0) + 1e-5
    feats = ((feats - mean) / std).astype(np.float32)
    n_video = params.shape[0]
    hours = n_video / 25 / 3600
    log(f"data: {len(examples)} clips, {hours:.2f} h of audio in {data_s:.0f} s")

    net = AudioMouthNet(channels=cfg.channels)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=max(0.05, 3.0 / cfg.steps)
    )
    rng = np.random.default_rng(cfg.seed + 1)
    feats_t = torch.from_numpy(feats)
    params_t = torch.from_numpy(params)
    labels_t = torch.from_numpy(labels)
    mean_t, std_t = torch.from_numpy(mean.astype(np.float32)), torch.from_numpy(std.astype(np.float32))
    weights = torch.tensor(PARAM_WEIGHTS).view(1, 4, 1)
    span = WARMUP + 4 * CROP + cfg.lookahead
    lo = (WARMUP + 3) // 4
    hi = n_video - CROP - (cfg.lookahead + 3) // 4 - 1
    t_train = time.time()
    for step in range(cfg.steps):
        starts = rng.integers(lo, hi, cfg.batch)
        x = torch.stack([feats_t[4 * s - WARMUP : 4 * s - WARMUP + span] for s in starts]).transpose(1, 2)
        x = augment_crops(x, mean_t, std_t, rng, cfg.spectral)
        y = torch.stack([params_t[s : s + CROP] for s in starts]).transpose(1, 2)
        c = torch.stack([labels_t[s : s + CROP] for s in starts])
        p, logits = net(x)
        p = p[:, :, WARMUP + cfg.lookahead :].reshape(cfg.batch, 4, CROP, 4).mean(-1)
        logits = logits[:, :, WARMUP + cfg.lookahead :].reshape(cfg.batch, -1, CROP, 4).mean(-1)
        loss_p = (torch.nn.functional.smooth_l1_loss(p, y, reduction="none", beta=0.1) * weights).mean()
        open_p = p[:, 0].clamp(0, 1) * (1 - p[:, 3].clamp(0, 1))
        open_y = y[:, 0] * (1 - y[:, 3])
        loss_o = torch.nn.functional.mse_loss(open_p, open_y)
        loss_c = torch.nn.functional.cross_entropy(logits, c)
        loss = loss_p + 2.0 * loss_o + 0.3 * loss_c
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == cfg.steps - 1:
            rate = (step + 1) / (time.time() - t_train)
            log(f"step {step}/{cfg.steps} loss {loss.item():.4f} (params {loss_p.item():.4f} open {loss_o.item():.4f} "
                f"visemes {loss_c.item():.3f}) {rate:.2f} steps/s")  # fmt: skip
    train_s = time.time() - t_train
    meta: dict[str, object] = {
        "recipe": asdict(cfg),
        "hours_of_audio": round(hours, 3),
        "clips": len(examples),
        "data_seconds": round(data_s, 1),
        "train_seconds": round(train_s, 1),
        "parameters": sum(p.numel() for p in net.parameters()),
        "torch": str(torch.__version__),
    }
    ckpt = {
        "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "config": net.config,
        "mean": torch.from_numpy(mean.astype(np.float32)),
        "std": torch.from_numpy(std.astype(np.float32)),
        "lookahead": cfg.lookahead,
        "meta": meta,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    torch.save(ckpt, str(tmp))
    tmp.replace(output)
    log(f"saved {output} ({output.stat().st_size / 1e6:.2f} MB) after {time.time() - started:.0f} s")
    return meta
