"""Fidelity of the scripted engine on every shipped persona, and the harness's own checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PERSONAS
from vpatient.errors import FileProblemError
from vpatient.persona.engine import ScriptedEngine
from vpatient.persona.fidelity import load_questions, run
from vpatient.persona.grounding import Grounding
from vpatient.persona.loader import load_persona


@pytest.mark.parametrize("path", PERSONAS, ids=lambda p: p.stem)
def test_scripted_engine_meets_the_fidelity_goal(path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    persona = load_persona(path)
    questions = load_questions(path.parent / "questions" / f"{persona.id}.yaml", persona)
    assert len(questions.questions) >= 30
    report = run(persona, questions, ScriptedEngine(persona, embedder), Grounding(persona, embedder))
    failures = [
        (t.say, t.reply, t.missed, t.leaked, t.conflicts) for t in report.turns if t.missed or t.leaked or t.conflicts
    ]
    assert report.leaks == 0, failures
    assert report.contradictions == 0, failures
    assert report.recall >= 0.95, failures


def test_harness_catches_leaks_contradictions_and_inventions(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    g = Grounding(chest_pain, embedder)
    assert g.told("I smoke about fifteen a day. I've smoked since I was sixteen.") == ["smoking_history"]
    assert g.told("Well, I smoke around fifteen cigarettes a day, have done since sixteen.") == ["smoking_history"]
    conflicts = g.conflicts("I don't smoke at all.")
    assert any(c.statement_id == "smoking_history" and "polarity" in c.reason for c in conflicts)
    conflicts = g.conflicts("I take amlodipine, ten milligrams, once a day for the blood pressure.")
    assert any("number(s) 10" in c.reason for c in conflicts)
    assert any("bisoprolol" in c.reason for c in g.conflicts("I also take bisoprolol every morning."))
    assert g.unsupported("My left knee has been swollen since my skiing trip to Austria.") != []
    assert g.unsupported("No allergies that I know of.") == []


class Parrot:
    """A responder that says whatever it is told to, to test the harness's counting."""

    mode = "parrot"

    def __init__(self, replies: list[str]):
        self.replies = iter(replies)

    def respond(self, utterance: str, *, interrupted: bool = False):  # type: ignore[no-untyped-def]
        from vpatient.persona.engine import Reply

        return Reply(next(self.replies), [], "answer", {}, "neutral", [], [])


def test_harness_counts(tmp_path: Path, chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    q = tmp_path / "q.yaml"
    q.write_text(
        "persona: chest_pain_exertional\nquestions:\n"
        "  - {say: 'Do you smoke?', discloses: [smoking_history]}\n"
        "  - {say: 'Do you take your tablets?', discloses: [meds_amlodipine], withholds: [meds_missed_doses]}\n"
        "  - {say: 'Any breathlessness?', discloses: [breathless_on_exertion]}\n"
    )
    replies = [
        "I don't smoke at all.",
        "I take amlodipine, five milligrams, once a day for the blood pressure. "
        "To be honest I forget the amlodipine a couple of times a week.",
        "No, nothing like that.",
    ]
    report = run(chest_pain, load_questions(q, chest_pain), Parrot(replies), Grounding(chest_pain, embedder))
    assert (report.required, report.recalled) == (3, 1)
    assert report.leaks == 1
    assert report.contradictions == 2  # a polarity flip, and a denial of a symptom the persona has


def test_question_file_errors(tmp_path: Path, chest_pain) -> None:  # type: ignore[no-untyped-def]
    q = tmp_path / "q.yaml"
    q.write_text("persona: someone_else\nquestions:\n  - say: Hi\n    discloses: [no_such_id]\n")
    with pytest.raises(FileProblemError) as info:
        load_questions(q, chest_pain)
    text = str(info.value)
    assert f"{q}:1: persona: is 'someone_else' but the persona file is 'chest_pain_exertional'" in text
    assert f"{q}:4: questions[0].discloses[0]: unknown statement id 'no_such_id'" in text
