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


# Oculus's 15 visemes, in the order of the weight vectors (LipTrack.visemes, AvatarState.visemes).
VISEME_NAMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")
# How open and how wide/round each viseme is (for the 2D renderer and the envelope scale).
VISEME_SHAPES: dict[str, Viseme] = {
    "sil": Viseme(0.0, 0.0),
    "PP": Viseme(0.0, 0.0),
    "FF": Viseme(0.15, 0.2),
    "TH": Viseme(0.3, 0.4),
    "DD": Viseme(0.3, 0.6),
    "kk": Viseme(0.35, 0.5),
    "CH": Viseme(0.35, -0.5),
    "SS": Viseme(0.2, 0.7),
    "nn": Viseme(0.3, 0.5),
    "RR": Viseme(0.35, -0.5),
    "aa": Viseme(1.0, 0.0),
    "E": Viseme(0.7, 0.5),
    "I": Viseme(0.55, 0.8),
    "O": Viseme(0.7, -0.7),
    "U": Viseme(0.4, -0.9),
}
# ARPAbet (CMU, as some aligners give) and IPA (espeak-ng/Piper, hibari's G2P) -> viseme.
ARPABET_VISEME: dict[str, str] = {
    **dict.fromkeys(("M", "B", "P"), "PP"),
    **dict.fromkeys(("F", "V"), "FF"),
    **dict.fromkeys(("TH", "DH"), "TH"),
    **dict.fromkeys(("T", "D"), "DD"),
    **dict.fromkeys(("K", "G", "NG", "HH"), "kk"),
    **dict.fromkeys(("SH", "ZH", "CH", "JH"), "CH"),
    **dict.fromkeys(("S", "Z"), "SS"),
    **dict.fromkeys(("N", "L", "Y"), "nn"),
    **dict.fromkeys(("R", "ER"), "RR"),
    **dict.fromkeys(("AA", "AH", "AE", "AY", "AW"), "aa"),
    **dict.fromkeys(("EH", "EY"), "E"),
    **dict.fromkeys(("IY", "IH"), "I"),
    **dict.fromkeys(("AO", "OW", "OY"), "O"),
    **dict.fromkeys(("UW", "UH", "W"), "U"),
    **dict.fromkeys(("SIL", "SP", ""), "sil"),
}
IPA_VISEME: dict[str, str] = {
    **dict.fromkeys(("p", "b", "m"), "PP"),
    **dict.fromkeys(("f", "v"), "FF"),
    **dict.fromkeys(("θ", "ð"), "TH"),
    **dict.fromkeys(("t", "d", "ɾ", "ʔ"), "DD"),
    **dict.fromkeys(("k", "g", "ɡ", "ŋ", "h", "x"), "kk"),
    **dict.fromkeys(("tʃ", "dʒ", "ʃ", "ʒ"), "CH"),
    **dict.fromkeys(("s", "z"), "SS"),
    **dict.fromkeys(("n", "l", "j", "ɫ"), "nn"),
    **dict.fromkeys(("r", "ɹ", "ɚ", "ɝ", "ɜ"), "RR"),
    **dict.fromkeys(("a", "ɑ", "æ", "ʌ", "ɐ", "aɪ", "aʊ", "ɒ"), "aa"),
    **dict.fromkeys(("e", "ɛ", "eɪ", "ə", "ᵻ"), "E"),
    **dict.fromkeys(("i", "ɪ", "iː"), "I"),
    **dict.fromkeys(("o", "ɔ", "oʊ", "ɔɪ", "əʊ"), "O"),
    **dict.fromkeys(("u", "ʊ", "w", "uː"), "U"),
}
# hibari's G2P (misaki) writes diphthongs and the flap as capitals: mapped to IPA before timing.
MISAKI_IPA = {"A": "eɪ", "I": "aɪ", "W": "aʊ", "Y": "ɔɪ", "O": "oʊ", "Q": "əʊ", "T": "ɾ", "ᵊ": "ə"}


def misaki_to_ipa(text: str) -> str:
    return "".join(MISAKI_IPA.get(ch, ch) for ch in text)


_IPA_MULTI = sorted((k for k in IPA_VISEME if len(k) > 1), key=len, reverse=True)
_IPA_SKIP = set("ˈˌːˑ̩̯̃‿-")
_VOWEL_VISEMES = {"aa", "E", "I", "O", "U", "RR"}


def viseme_name(phoneme: str) -> str | None:
    """The Oculus viseme of a phoneme, ARPAbet ('AA1') or IPA ('ɑ', 'tʃ'); None if unknown."""
    p = phoneme.strip()
    if p in IPA_VISEME:
        return IPA_VISEME[p]
    return ARPABET_VISEME.get(p.upper().rstrip("012"))


def ipa_symbols(ipa: str) -> list[str]:
    """Split an IPA string into phoneme symbols (affricates and diphthongs kept whole); ' ' marks a word
    gap and ',' '.' '?' '!' a pause."""
    out: list[str] = []
    i = 0
    while i < len(ipa):
        ch = ipa[i]
        if ch in _IPA_SKIP:
            i += 1
            continue
        if ch.isspace():
            if out and out[-1] != " ":
                out.append(" ")
            i += 1
            continue
        if ch in ",.;:?!":
            out.append(",")
            i += 1
            continue
        multi = next((m for m in _IPA_MULTI if ipa.startswith(m, i)), None)
        out.append(multi or ch)
        i += len(multi) if multi else 1
    return out


def timed_phonemes(ipa: str, audio: np.ndarray, sample_rate: int) -> list[Phoneme]:
    """Time a TTS voice's IPA over its audio (neither Piper's ONNX export nor hibari gives durations):
    the phonemes are spread over the voiced stretches of the audio in proportion to typical lengths
    (vowels longer than consonants), pauses in the text placed at the longest silences."""
    symbols = ipa_symbols(ipa)
    if not symbols:
        return []
    db, _ = envelope(audio, sample_rate)
    voiced = db > FLOOR_DB + 6
    frames = np.flatnonzero(voiced)
    if frames.size == 0:
        return []
    # voiced frames from the first to the last sound, minus long silences matched to the text's pauses
    first, last = int(frames[0]), int(frames[-1]) + 1
    span = np.arange(first, last)
    gaps: list[tuple[int, int]] = []  # (start, end) of silences over 150 ms inside the span
    run = None
    for f in span:
        if not voiced[f]:
            run = f if run is None else run
        elif run is not None:
            if f - run >= 0.15 * RATE:
                gaps.append((int(run), int(f)))
            run = None
    # the text's clauses (split at internal pauses) and the audio's stretches (split at its longest silences)
    clauses: list[list[str]] = [[]]
    for sym in symbols:
        if sym == ",":
            if clauses[-1]:
                clauses.append([])
        elif sym != " ":
            clauses[-1].append(sym)
    clauses = [c for c in clauses if c]
    keep = sorted(sorted(gaps, key=lambda g: g[0] - g[1])[: len(clauses) - 1])
    if len(keep) != len(clauses) - 1:  # fewer silences than pauses: one stretch for the whole text
        clauses, keep = [[s for c in clauses for s in c]], []
    bounds = [first, *[x for g in keep for x in g], last]
    out: list[Phoneme] = []
    for k, clause in enumerate(clauses):
        lo, hi = bounds[2 * k], bounds[2 * k + 1]
        seg = np.arange(lo, hi)
        timeline = seg[voiced[lo:hi] | (hi - lo < 3)]  # the voiced frames phonemes are spread over
        if timeline.size == 0:
            timeline = seg
        lengths = [1.6 if viseme_name(sym) in _VOWEL_VISEMES else 1.0 for sym in clause]
        total = sum(lengths)
        acc = 0.0
        n = timeline.size
        for sym, length in zip(clause, lengths, strict=True):
            a = int(acc / total * n)
            acc += length
            b = max(a + 1, int(acc / total * n))
            out.append(Phoneme(float(timeline[min(a, n - 1)] / RATE), float((timeline[min(b, n) - 1] + 1) / RATE), sym))
    return out


def viseme_for(phoneme: str) -> Viseme | None:
    """The mouth shape for a phoneme (stress digits ignored: 'AA1' -> 'AA'); None if unknown."""
    shape = VISEMES.get(phoneme.strip().upper().rstrip("012"))
    if shape is None and phoneme.strip() in IPA_VISEME:
        shape = VISEME_SHAPES[IPA_VISEME[phoneme.strip()]]
    return shape


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
    visemes: np.ndarray = field(default_factory=lambda: np.zeros((0, len(VISEME_NAMES)), np.float32))

    def visemes_at(self, t: float) -> tuple[float, ...]:
        """The viseme weights (VISEME_NAMES order) at t seconds into the reply; silence outside it."""
        if t < 0 or t >= self.duration or self.visemes.shape[0] == 0:
            return ()
        x = t * RATE
        i = min(int(x), self.visemes.shape[0] - 1)
        j = min(i + 1, self.visemes.shape[0] - 1)
        f = x - int(x)
        row = self.visemes[i] * (1 - f) + self.visemes[j] * f
        return tuple(float(v) for v in row)

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
    track = _viseme_track(openness, wide, level, zcr, phonemes)
    return LipTrack(openness.astype(np.float32), wide.astype(np.float32), duration, list(phonemes or []), track)


def _viseme_track(
    openness: np.ndarray, wide: np.ndarray, level: np.ndarray, zcr: np.ndarray, phonemes: list[Phoneme] | None
) -> np.ndarray:
    """(frames, 15) viseme weights. With phonemes: each phoneme's viseme over its span, cross-faded over
    about 60 ms (coarticulation), open visemes scaled by the loudness. Without: from the envelope's
    openness and width (open 'aa', spread 'E'/'I', rounded 'O'/'U', hissing 'SS', silence 'sil')."""
    n = openness.size
    k = len(VISEME_NAMES)
    out = np.zeros((n, k), np.float32)
    idx = {name: i for i, name in enumerate(VISEME_NAMES)}
    mapped = [(ph, viseme_name(ph.symbol)) for ph in (phonemes or [])]
    if any(v is not None for _, v in mapped):
        t = np.arange(n) / RATE
        out[:, idx["sil"]] = 1.0
        for ph, vis in mapped:
            if vis is None:
                continue
            sel = (t >= ph.start) & (t < ph.end)
            out[sel] = 0.0
            out[sel, idx[vis]] = 1.0
        kernel = np.array([1, 2, 3, 2, 1], np.float32)  # about 60 ms either side at 100 Hz
        kernel /= kernel.sum()
        for j in range(k):
            out[:, j] = np.convolve(out[:, j], kernel, mode="same")
        scale = np.clip(0.35 + 0.65 * np.clip(level * 1.5, 0.0, 1.0), 0.0, 1.0)
        for name in ("aa", "E", "I", "O", "U", "RR", "DD", "kk", "nn", "TH"):
            out[:, idx[name]] *= scale
        return out
    o = np.clip(openness, 0.0, 1.0)
    wd = np.clip(wide, -1.0, 1.0)
    hiss = (zcr > 0.35).astype(np.float32)
    out[:, idx["SS"]] = hiss * np.clip(o * 2.5, 0.0, 1.0)
    speech = o * (1 - hiss)
    out[:, idx["aa"]] = speech * (1 - np.abs(wd))
    out[:, idx["E"]] = speech * np.clip(wd, 0.0, 1.0) * 0.6
    out[:, idx["I"]] = speech * np.clip(wd, 0.0, 1.0) * 0.4
    out[:, idx["O"]] = speech * np.clip(-wd, 0.0, 1.0) * 0.6
    out[:, idx["U"]] = speech * np.clip(-wd, 0.0, 1.0) * 0.4
    out[:, idx["sil"]] = np.clip(1.0 - out.sum(axis=1), 0.0, 1.0)
    return out
