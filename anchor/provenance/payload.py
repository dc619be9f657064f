"""The watermark payload: issuer id (16 bits) + content id (32 bits), CRC-16, convolutional code.

48 data bits + CRC-16/XMODEM = 64 bits, then a rate-1/2, constraint-length-7 convolutional
code (generators 171/133 octal, the one used by 802.11 and DVB) terminated with 6 zero bits:
140 coded bits. The detector hands soft values (positive = bit 0) to a soft-decision Viterbi
decoder; the CRC then says whether the decoded payload is genuine (a random 64-bit word passes
with probability 1/65536).
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass

import numpy as np

DATA_BITS = 48
CRC_BITS = 16
_K = 7
_G = (0o171, 0o133)
_STATES = 1 << (_K - 1)
CODED_BITS = 2 * (DATA_BITS + CRC_BITS + _K - 1)
"""Channel bits the watermark carries: 140."""


@dataclass(frozen=True)
class Payload:
    """What the watermark says: who issued the video (16 bits) and which content it is (32 bits)."""

    issuer: int
    content: int

    def __post_init__(self) -> None:
        if not (0 <= self.issuer < 1 << 16 and 0 <= self.content < 1 << 32):
            raise ValueError(f"payload out of range: issuer {self.issuer}, content {self.content}")

    @classmethod
    def for_ids(cls, issuer_id: str, content_id: str) -> Payload:
        """The payload for a configured issuer name and a content id (e.g. a job id or a UUID)."""
        return cls(short_issuer(issuer_id), short_content(content_id))

    def hex(self) -> str:
        """`iiii-cccccccc`, the form printed by `anchor verify`."""
        return f"{self.issuer:04x}-{self.content:08x}"


def short_issuer(issuer_id: str) -> int:
    """The 16-bit issuer number of an issuer name (first bytes of its SHA-256)."""
    return int.from_bytes(hashlib.sha256(b"anchor-issuer:" + issuer_id.encode()).digest()[:2], "big")


def short_content(content_id: str) -> int:
    """The 32-bit content number of a content id (first bytes of its SHA-256)."""
    return int.from_bytes(hashlib.sha256(b"anchor-content:" + content_id.encode()).digest()[:4], "big")


def _bits(value: int, n: int) -> list[int]:
    return [(value >> (n - 1 - i)) & 1 for i in range(n)]


def _message(payload: Payload) -> list[int]:
    data = payload.issuer.to_bytes(2, "big") + payload.content.to_bytes(4, "big")
    crc = binascii.crc_hqx(data, 0)
    return _bits(int.from_bytes(data, "big"), DATA_BITS) + _bits(crc, CRC_BITS)


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


# Output symbols for (state, input bit): the register holds the input then the 6 previous bits.
_OUT = np.array([[[_parity(((b << (_K - 1)) | s) & g) for g in _G] for b in (0, 1)] for s in range(_STATES)], np.int8)
_NEXT = np.array([[((b << (_K - 1)) | s) >> 1 for b in (0, 1)] for s in range(_STATES)], np.int64)


def encode(payload: Payload) -> np.ndarray:
    """The 140 coded bits (0/1, int8) for a payload."""
    state = 0
    out: list[int] = []
    for b in [*_message(payload), *([0] * (_K - 1))]:
        out.extend(int(v) for v in _OUT[state, b])
        state = int(_NEXT[state, b])
    return np.array(out, np.int8)


def decode(soft: np.ndarray) -> Payload | None:
    """Soft-decision Viterbi over 140 soft values (positive means 0); None when the CRC fails."""
    soft = np.asarray(soft, np.float64)
    if soft.shape != (CODED_BITS,):
        raise ValueError(f"need {CODED_BITS} soft values, got {soft.shape}")
    sym = 1.0 - 2.0 * _OUT.astype(np.float64)  # bit 0 -> +1, bit 1 -> -1; (state, input, 2)
    metric = np.full(_STATES, -np.inf)
    metric[0] = 0.0
    steps = CODED_BITS // 2
    # Every next state ns has exactly two predecessors (the bit shifted out was 0 or 1) and one input bit.
    ns = np.arange(_STATES)
    b = ns >> (_K - 2)
    pred = np.stack([(ns << 1) & (_STATES - 1), ((ns << 1) & (_STATES - 1)) | 1], axis=1)  # (ns, 2)
    back = np.zeros((steps, _STATES), np.int64)
    for t in range(steps):
        gain = sym @ soft[2 * t : 2 * t + 2]  # (state, input)
        cand = metric[pred] + gain[pred, b[:, None]]  # (ns, 2)
        pick = np.argmax(cand, axis=1)
        back[t] = pred[ns, pick]
        metric = cand[ns, pick]
    state = 0  # terminated with zeros
    bits = []
    for t in range(steps - 1, -1, -1):
        bits.append(state >> (_K - 2))  # the input bit that led into this state
        state = int(back[t, state])
    bits = bits[::-1][: DATA_BITS + CRC_BITS]
    value = int("".join(map(str, bits)), 2)
    data, crc = (value >> CRC_BITS).to_bytes(6, "big"), value & 0xFFFF
    if binascii.crc_hqx(data, 0) != crc:
        return None
    return Payload(int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big"))
