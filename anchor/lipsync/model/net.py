"""The audio-to-mouth network: a small causal temporal convolution network over log-mel frames.

Every layer only looks back in time (left padding); the fixed look-ahead is made by reading
the output LOOKAHEAD frames late (see `AudioMouthModel`), so the mouth can open before the
sound it makes, as real mouths do. Heads: the 4 mouth parameters and 15 viseme logits per
10 ms feature frame.
"""

from __future__ import annotations

import torch
from torch import nn

from anchor.lipsync.model.features import N_MELS
from anchor.lipsync.visemes import VISEME_NAMES

N_PARAMS = 4


class _CausalBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(nn.functional.pad(x, (self.pad, 0)))
        return x + self.mix(self.act(y))

    def step(self, x: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Continue from `past` (the last `pad` inputs seen; zeros at the start): output for
        the new frames `x` only, and the new past."""
        full = torch.cat([past, x], dim=2)
        y = self.conv(full)
        return x + self.mix(self.act(y)), full[:, :, full.shape[2] - self.pad :]


class AudioMouthNet(nn.Module):
    """(batch, N_MELS, T) normalized log-mel -> ((batch, 4, T) params, (batch, n_visemes, T) logits)."""

    def __init__(
        self, channels: int = 64, kernel: int = 3, dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1, 2, 4, 8)
    ) -> None:
        super().__init__()
        self.config = {"channels": channels, "kernel": kernel, "dilations": list(dilations)}
        self.inp = nn.Conv1d(N_MELS, channels, 1)
        self.blocks = nn.Sequential(*(_CausalBlock(channels, kernel, d) for d in dilations))
        self.act = nn.GELU()
        self.params = nn.Conv1d(channels, N_PARAMS, 1)
        self.visemes = nn.Conv1d(channels, len(VISEME_NAMES), 1)
        self.receptive_field = 1 + sum((kernel - 1) * d for d in dilations)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.act(self.blocks(self.inp(x)))
        return self.params(h), self.visemes(h)

    def initial_state(self, batch: int = 1) -> list[torch.Tensor]:
        """The streaming state before any audio: each block's past is silence-as-zeros, exactly
        what `forward`'s left padding gives."""
        return [torch.zeros(batch, int(b.conv.in_channels), int(b.pad)) for b in self.blocks]  # type: ignore[union-attr, arg-type]

    def step(self, x: torch.Tensor, state: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """`forward` for the next frames of a stream: (params, logits) for x only, and the new
        state. Feeding a clip in pieces gives what `forward` gives for the whole clip."""
        h = self.inp(x)
        new_state = []
        for block, past in zip(self.blocks, state):
            h, past = block.step(h, past)  # type: ignore[operator]
            new_state.append(past)
        h = self.act(h)
        return self.params(h), self.visemes(h), new_state
