"""Lip-sync data from reply audio: a loudness envelope (and visemes, when the voice gives phonemes).

Pure numpy, no pygame: every front end shares it. The envelope is sampled at `RATE` Hz, far above any
display's frame rate, so a renderer at 30, 60 or 90 fps reads the value for its own playback time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RATE = 100.0  # envelope samples per second
FLOOR_DB = -45.0  # at or below this RMS level (dBFS) the mouth is closed
FULL_DB = -14.0  # at or above this level the mouth is fully open


@dataclass(frozen=True)
class Viseme:
    """A mouth shape: how open, and how wide (+1 spread, e.g. 'ee') or round (-1, e.g. 'oo')."""

    open: float
    wide: float


# Phoneme (ARPAbet or a close IPA-ish letter) -> mouth shape. Unknown phonemes fall back to the envelope.
VISEMES: dict[str, Viseme] = {
    **{p: Viseme(0.0, 0.0) for p in ("M", "B", "P", "SIL", "SP", "")},
    **{p: Viseme(0.15, 0.2) for p in ("F", "V")},
    **{p: Viseme(0.3, 0.6) for p in ("S", "Z", "T", "D", "N", "TH", "DH", "L", "K", "G", "NG", "HH", "Y")},
    **{p: Viseme(0.35, -0.5) for p in ("SH", "ZH", "CH", "JH", "R", "ER")},
    **{p: Viseme(0.4, -0.9) for p in ("W", "UW", "UH", "OW")},
    **{p: Viseme(0.55, 0.8) for p in ("IY", "IH", "EY")},
    **{p: Viseme(0.8, 0.3) for p in ("EH", "AE", "AY")},
    **{p: Viseme(1.0, 0.0) for p in ("AA", "AH", "AO", "AW", "OY")},
}


def viseme_for(phoneme: str) -> Viseme | None:
    """The mouth shape for a phoneme (stress digits ignored: 'AA1' -> 'AA'); None if unknown."""
    return VISEMES.get(phoneme.strip().upper().rstrip("012"))


@dataclass(frozen=True)
class Phoneme:
    """One timed phoneme of a reply, in seconds from the start of its audio."""

    start: float
    end: float
    symbol: str


@dataclass
class LipTrack:
    """A reply's mouth track: openness (0-1) and width (-1..1) at RATE Hz, and its duration."""

    open: np.ndarray
    wide: np.ndarray
    duration: float
    phonemes: list[Phoneme] = field(default_factory=list)

    def at(self, t: float) -> tuple[float, float]:
        """(openness, width) at t seconds into the reply (linear interpolation); closed outside it."""
        if t < 0 or t >= self.duration or self.open.size == 0:
            return 0.0, 0.0
        x = t * RATE
        i = int(x)
        j = min(i + 1, self.open.size - 1)
        i = min(i, self.open.size - 1)
        f = x - int(x)
        return (
            float(self.open[i] * (1 - f) + self.open[j] * f),
            float(self.wide[i] * (1 - f) + self.wide[j] * f),
        )


def envelope(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """RMS level (dBFS) and zero-crossing rate per 1/RATE s hop (25 ms windows) of mono float audio."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1) if x.shape[1] <= 8 else x.mean(axis=0)
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    hop = max(1, round(sample_rate / RATE))
    win = max(hop, round(sample_rate * 0.025))
    n = max(1, int(np.ceil(x.size / hop)))
    padded = np.zeros(n * hop + win, dtype=np.float32)
    padded[win // 2 : win // 2 + x.size] = x
    idx = np.arange(n)[:, None] * hop + np.arange(win)[None, :]
    frames = padded[idx]
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-6))
    signs = np.signbit(frames)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)
    return db.astype(np.float32), zcr.astype(np.float32)


def _smooth(values: np.ndarray, attack: float = 0.6, release: float = 0.25) -> np.ndarray:
    out = np.empty_like(values)
    prev = 0.0
    for i, v in enumerate(values.tolist()):
        k = attack if v > prev else release
        prev = prev + k * (v - prev)
        out[i] = prev
    return out


def lip_track(audio: np.ndarray, sample_rate: int, phonemes: list[Phoneme] | None = None) -> LipTrack:
    """The mouth track of one reply. Loud audio opens the mouth, silence closes it; phonemes, when given,
    shape it (rounded, spread, lips closed for M/B/P) and the envelope scales it."""
    db, zcr = envelope(audio, sample_rate)
    level = np.clip((db - FLOOR_DB) / (FULL_DB - FLOOR_DB), 0.0, 1.0)
    openness = _smooth(level)
    # Without phonemes: noisy (fricative-like) frames are narrower and less open.
    wide = np.clip((zcr - 0.15) * 3.0, -0.6, 0.8).astype(np.float32)
    openness = openness * np.where(zcr > 0.35, 0.6, 1.0).astype(np.float32)
    if phonemes:
        t = np.arange(openness.size) / RATE
        for ph in phonemes:
            vis = viseme_for(ph.symbol)
            if vis is None:
                continue
            sel = (t >= ph.start) & (t < ph.end)
            loud = np.clip(level[sel] * 1.5, 0.0, 1.0)
            openness[sel] = vis.open * loud
            wide[sel] = vis.wide
    duration = float(np.asarray(audio).shape[0]) / sample_rate
    return LipTrack(openness.astype(np.float32), wide.astype(np.float32), duration, list(phonemes or []))
