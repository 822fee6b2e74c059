"""The transcript JSON contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vpatient.errors import TranscriptError
from vpatient.transcript import Transcript, Turn, from_json, load, save

PRIMOCK = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "primock57" / "transcripts"


def test_round_trip_keeps_extra_fields(tmp_path: Path) -> None:
    data = {
        "id": "s1",
        "persona": "p",
        "source": "x",
        "turns": [
            {"role": "learner", "text": "Hello", "start": 0.0, "end": 2.1},
            {"role": "patient", "text": "Hello doctor.", "emotion": "anxious"},
        ],
    }
    t = from_json(data)
    assert t.turns[1].meta == {"emotion": "anxious"}
    save(t, tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text()) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "top level must be an object"),
        ({"id": "x"}, "turns: missing or not a list"),
        (
            {"id": "x", "turns": [{"role": "doctor", "text": "hi"}]},
            "turns[0].role: 'doctor' is not 'learner' or 'patient'",
        ),
        ({"id": "x", "turns": [{"role": "learner", "text": "a"}, {"role": "patient"}]}, "turns[1].text: missing"),
        ({"id": "x", "turns": [{"role": "learner", "text": "a", "start": "0"}]}, "turns[0].start: must be a number"),
        ({"id": "x", "turns": [{"role": "learner", "text": "a", "start": 3, "end": 1}]}, "end (1.0) is before start"),
    ],
)
def test_malformed_transcripts_name_field_and_position(data: object, message: str) -> None:
    with pytest.raises(
        TranscriptError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")
    ):
        from_json(data, source="t.json")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"id": "x",\n "turns": [}\n')
    with pytest.raises(TranscriptError, match=r"bad.json:2: not valid JSON"):
        load(p)


@pytest.mark.skipif(not PRIMOCK.exists(), reason="shared data not beside the project")
def test_reads_the_real_primock_transcripts() -> None:
    files = sorted(PRIMOCK.glob("*.json"))
    assert len(files) == 57
    for f in files:
        t = load(f)
        assert t.turns and {x.role for x in t.turns} == {"learner", "patient"}


def test_empty_transcript_is_valid() -> None:
    assert Transcript("e").to_json() == {"id": "e", "turns": []}
    assert Turn("learner", "x").to_json() == {"role": "learner", "text": "x"}
