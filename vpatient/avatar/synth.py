"""A fake voice for tests and benchmarks: speech-like audio (syllables, word gaps) for a text, no TTS."""

from __future__ import annotations

import zlib

import numpy as np


def speechlike(text: str, sample_rate: int = 16000, syllable_s: float = 0.16, level: float = 0.25) -> np.ndarray:
    """Deterministic float32 audio with one voiced burst per vowel group and a pause per word gap."""
    rng = np.random.default_rng(zlib.crc32(text.encode()))
    pieces: list[np.ndarray] = []
    for word in text.split() or [""]:
        vowels = max(
            1,
            sum(
                1
                for i, c in enumerate(word.lower())
                if c in "aeiouy" and (i == 0 or word[i - 1].lower() not in "aeiouy")
            ),
        )
        for _ in range(vowels):
            n = int(sample_rate * syllable_s * rng.uniform(0.8, 1.2))
            t = np.arange(n) / sample_rate
            f0 = rng.uniform(110, 220)
            voiced = np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(4 * np.pi * f0 * t)
            shape = np.sin(np.pi * np.arange(n) / n) ** 0.7
            pieces.append((level * shape * voiced).astype(np.float32))
        pieces.append(np.zeros(int(sample_rate * 0.06), dtype=np.float32))
    return np.concatenate(pieces)
