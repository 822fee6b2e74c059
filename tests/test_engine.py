"""The scripted persona engine, with the real packaged MiniLM model."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpatient.persona.engine import ScriptedEngine
from vpatient.persona.loader import load_persona

MINI = Path(__file__).parent / "data" / "mini_bad_news.yaml"


@pytest.fixture()
def engine(embedder):  # type: ignore[no-untyped-def]
    return ScriptedEngine(load_persona(MINI), embedder)


def test_opening_question_gives_opening_line_and_first_volunteered_fact(engine) -> None:  # type: ignore[no-untyped-def]
    r = engine.respond("Hello, I'm Dr Jones, one of the doctors. How can I help today?")
    assert r.text.startswith("Hello, doctor.")  # the greeting is returned first
    assert "I've come for my scan results." in r.text
    assert r.disclosed == ["cough_onset"]
    assert r.kind == "opening"


def test_asked_facts_are_told(engine) -> None:  # type: ignore[no-untyped-def]
    assert engine.respond("Are you a smoker?").disclosed == ["smoker"]
    assert engine.respond("Have you noticed your weight going down?").disclosed == ["weight_loss"]
    assert "asthma" in engine.respond("Do you have any other health problems?").text


def test_several_questions_in_one_utterance(engine) -> None:  # type: ignore[no-untyped-def]
    r = engine.respond("Do you smoke, and have you had any fevers?")
    assert set(r.disclosed) == {"smoker", "no_fever"}


def test_specific_fact_needs_a_specific_question(engine) -> None:  # type: ignore[no-untyped-def]
    general = engine.respond("What jobs have you done? Any health problems in the past?")
    assert "asbestos" not in general.disclosed
    assert "shipyard" not in general.text
    specific = engine.respond("Have you ever worked with asbestos?")
    assert specific.disclosed == ["asbestos"]


def test_rapport_tier_is_deflected_until_rapport_is_earned(engine) -> None:  # type: ignore[no-untyped-def]
    early = engine.respond("Is anything worrying you?")
    assert "fear_of_dying" not in early.disclosed
    assert early.text == "I'm fine, just tell me what it is."
    assert any("rapport" in n for n in early.notes)
    engine.respond("That must be really frightening, waiting for results.")
    engine.respond("I can see this has been a difficult time for you. How have you been coping?")
    later = engine.respond("Is anything worrying you?")
    assert later.disclosed == ["fear_of_dying"]
    assert later.affect["rapport"] >= 0.5


def test_never_tier_is_never_told(engine) -> None:  # type: ignore[no-untyped-def]
    notes = []
    for q in ("What did the scan show?", "Do you know what the scan showed?", "Tell me about the scan result."):
        r = engine.respond(q)
        assert "secret_result" not in r.disclosed
        assert "tumour" not in r.text
        notes += r.notes
    assert "withheld secret_result: tier never" in notes


def test_required_statement_comes_first(engine) -> None:  # type: ignore[no-untyped-def]
    r = engine.respond("Have you coughed up any blood?")
    assert "blood_in_sputum" not in r.disclosed
    assert any("requires cough_onset" in n for n in r.notes)
    engine.respond("When did the cough start?")
    assert engine.respond("Have you coughed up any blood?").disclosed == ["blood_in_sputum"]


def test_repeated_questions_get_the_same_answer(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.respond("Do you smoke?").text
    engine.respond("Have you had a temperature?")
    again = engine.respond("Do you smoke?").text
    assert again.startswith("As I said,") and again.lower().endswith(first.lower())  # short, and the same fact
    unknown = engine.respond("What is your favourite film?").text
    assert engine.respond("What is your favourite film?").text == unknown


def test_unlisted_questions_are_not_invented(engine) -> None:  # type: ignore[no-untyped-def]
    symptom = engine.respond("Have you had any rashes on your skin?")
    assert symptom.text == "No, nothing like that."
    assert symptom.disclosed == []
    other = engine.respond("What colour is your front door?")
    assert other.text == "I don't know, sorry."


def test_jargon_with_low_health_literacy_asks_for_clarification(engine) -> None:  # type: ignore[no-untyped-def]
    before = engine.affect.rapport
    r = engine.respond("Have you had any haemoptysis?")
    assert r.kind == "clarify" and r.text == "Sorry, what does that mean?"
    assert r.disclosed == []
    assert engine.affect.rapport < before


def test_affect_moves_with_the_learner(engine) -> None:  # type: ignore[no-untyped-def]
    start = engine.affect.rapport
    engine.respond("That sounds really hard.")
    assert engine.affect.rapport > start
    anger = engine.affect.anger
    engine.respond("Calm down, there's nothing to worry about.", interrupted=True)
    assert engine.affect.anger > anger


def test_bad_news_reactions(engine) -> None:  # type: ignore[no-untyped-def]
    warn = engine.respond("I'm afraid the scan has shown something serious.")
    assert warn.text == "Oh no. What is it?"
    news = engine.respond("The scan shows a cancer in your right lung.")
    assert news.text == "Cancer? Oh my God."
    assert news.emotion == "sad"
    assert news.affect["distress"] >= 0.8
    assert engine.respond("I'm so sorry. I can see this is a shock.").text == "Thank you. It's a lot to take in."
    # A plan after the news gets a reply to the plan; the patient's own questions wait for an opening.
    plan = engine.respond("We will refer you to the lung team this week.").text
    assert "?" not in plan and plan != "Can it be treated?"
    assert engine.respond("Do you have any questions?").text == "Can it be treated?"
    assert engine.respond("Is there anything else you want to ask?").text == "How long have I got?"


def test_news_in_jargon_only_is_not_understood(engine) -> None:  # type: ignore[no-untyped-def]
    r = engine.respond("The biopsy confirms a carcinoma.")
    assert r.text == "I don't understand. What does that mean?"


def test_every_reply_is_persona_text(engine, embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.grounding import Grounding

    g = Grounding(engine.persona, embedder)
    for q in (
        "Hello, what brings you in?",
        "Do you smoke?",
        "Any fevers?",
        "How is work?",
        "What did you think it might be?",
        "Have you lost weight?",
    ):
        r = engine.respond(q)
        assert g.unsupported(r.text) == []
        assert g.conflicts(r.text) == []
