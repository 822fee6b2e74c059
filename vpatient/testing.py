"""Fakes shared by users and tests, for testing plumbing without the real models.

The real models are tested too (tests load the packaged MiniLM); a fake is never the product's path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np


class HashingEmbedder:
    """Bag-of-words vectors from hashed word stems: deterministic, instant, no model.

    Similar wording gives similar vectors; paraphrases do not (that is the real model's job).
    """

    name = "hashing-fake"

    def __init__(self, dim: int = 256):
        self.dim = dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"[a-z]+", text.lower()):
            stem = word[:5]
            h = int(hashlib.md5(stem.encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vec(t) for t in texts])

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)
