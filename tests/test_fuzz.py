"""Fuzzing the loaders (persona, rubric, transcript, WAV): any input is loaded or refused with vpatient's
own error, never a traceback or a hang. Example counts stay modest so the suite stays fast."""

from __future__ import annotations

import io
import json
import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from vpatient.errors import FileProblemError, TranscriptError
from vpatient.grading.rubric import check_rubric
from vpatient.grading.schema import Rubric
from vpatient.persona.loader import check_persona
from vpatient.persona.schema import Persona
from vpatient.speech.audio import AudioFileError, load_audio
from vpatient.transcript import loads
from vpatient.yamlfile import parse_model

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

PERSONA_LINES = (ROOT / "personas" / "chest_pain_exertional.yaml").read_text().splitlines()
RUBRIC_LINES = (ROOT / "rubrics" / "history_taking.yaml").read_text().splitlines()
YAML_BITS = st.sampled_from(
    [
        "",
        ":",
        "- ",
        "  ",
        "[",
        "]",
        "{",
        "}",
        "&a ",
        "*a",
        "!!python/object:os.system",
        "'",
        '"',
        "\t",
        "#",
        "~",
        "keywords: ['(a+)+$']",
        "requires: [x]",
        "says: ' '",
        "tier: nope",
        "1e999",
        "\x00",
        "é",
    ]
)


def _mutated(lines: list[str]) -> st.SearchStrategy[str]:
    """The shipped file with lines dropped, duplicated or spliced with YAML punctuation."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        out = list(lines)
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, len(out) - 1))
            action = draw(st.sampled_from(["drop", "dup", "splice", "indent"]))
            if action == "drop":
                del out[i]
            elif action == "dup":
                out.insert(i, out[i])
            elif action == "splice":
                j = draw(st.integers(0, len(out[i])))
                out[i] = out[i][:j] + draw(YAML_BITS) + out[i][j:]
            else:
                out[i] = "  " + out[i]
            if not out:
                out = [""]
        return "\n".join(out) + "\n"

    return build()


@FUZZ
@given(st.one_of(_mutated(PERSONA_LINES), st.text(max_size=300)))
def test_persona_loader_never_crashes(text: str) -> None:
    try:
        parse_model(text, Persona, name="fuzz.yaml", what="persona file", check=check_persona)
    except FileProblemError as exc:
        assert exc.problems and all(str(p).startswith("fuzz.yaml") for p in exc.problems)


@FUZZ
@given(st.one_of(_mutated(RUBRIC_LINES), st.text(max_size=300)))
def test_rubric_loader_never_crashes(text: str) -> None:
    try:
        parse_model(text, Rubric, name="fuzz.yaml", what="rubric file", check=check_rubric)
    except FileProblemError as exc:
        assert exc.problems


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
TURNS = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["learner", "patient", "doctor", 1]), "text": st.one_of(st.text(), st.integers())},
        optional={"start": JSON_VALUES, "end": JSON_VALUES},
    ),
    max_size=5,
)


@FUZZ
@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(lambda tid, turns: json.dumps({"id": tid, "turns": turns}), JSON_VALUES, TURNS),
        st.builds(json.dumps, JSON_VALUES),
        st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
        st.integers(1, 6000).map(lambda n: '{"id": "x", "turns": [], "n": ' + "9" * n + "}"),
    )
)
def test_transcript_loader_never_crashes(text: str) -> None:
    try:
        transcript = loads(text, source="fuzz.json")
    except TranscriptError as exc:
        assert str(exc).startswith("fuzz.json")
    else:
        json.dumps(transcript.to_json(), allow_nan=False)  # whatever loads writes back as valid JSON


def _valid_wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(np.arange(1600) / 5) * 8000).astype("<i2").tobytes())
    return buf.getvalue()


VALID_WAV = _valid_wav()


@st.composite
def _mutated_wav(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID_WAV)
    for _ in range(draw(st.integers(1, 4))):
        # header fields: sizes, channels, rate, byte rate, block align, bits per sample
        offset = draw(st.sampled_from([4, 16, 20, 22, 24, 28, 32, 34, 40]))
        width = 2 if offset in (20, 22, 32, 34) else 4
        value = draw(st.integers(0, 2 ** (8 * width) - 1))
        data[offset : offset + width] = value.to_bytes(width, "little")
    cut = draw(st.integers(0, len(data)))
    return bytes(data[: max(cut, 12)] if draw(st.booleans()) else data)


@FUZZ
@given(
    st.one_of(
        _mutated_wav(),
        st.binary(max_size=200),
        st.binary(max_size=40).map(lambda b: b"RIFF" + struct.pack("<I", 36) + b"WAVE" + b),
    )
)
def test_wav_loader_never_crashes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("wav") / "fuzz.wav"
    path.write_bytes(data)
    try:
        samples = load_audio(path)
    except AudioFileError as exc:
        assert str(path) in str(exc)
    else:
        assert samples.dtype == np.float32 and np.all(np.isfinite(samples))
        assert samples.size <= 16000 * 600
