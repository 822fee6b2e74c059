"""The shipped rubrics follow the assessors' definitions (docs/rubric_items.md): the defects an assessor
found on reading the previous grader's output are regression tests here, and the evidence quote is the
turn that shows the behaviour. Uses the real MiniLM model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from vpatient.errors import FileProblemError
from vpatient.grading import Grader, load_rubric
from vpatient.grading.agreement import cohen_kappa, gwet_ac1, load_label_files, load_splits
from vpatient.grading.rubric import load_rubric_file
from vpatient.grading.selfcheck import check_examples
from vpatient.transcript import Transcript, Turn

_graders: dict[str, Grader] = {}


def grade(rubric_id: str, *turns: tuple[str, str], embedder):  # type: ignore[no-untyped-def]
    if rubric_id not in _graders:
        _graders[rubric_id] = Grader(load_rubric(rubric_id), embedder=embedder)
    return _graders[rubric_id].grade(Transcript("t", [Turn(r, t) for r, t in turns]))  # type: ignore[arg-type]


def test_the_rubric_files_point_to_the_definitions() -> None:
    assert (ROOT / "docs" / "rubric_items.md").exists()
    for rid in ("history_taking", "breaking_bad_news", "cultural_competence"):
        assert load_rubric(rid).documentation == "docs/rubric_items.md"


def test_contraception_is_not_a_medication_question(embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "history_taking",
        ("learner", "When was your last period?"),
        ("patient", "About two weeks ago."),
        ("learner", "Are you using any contraception at the moment?"),
        ("patient", "Yes, the coil."),
        embedder=embedder,
    )
    assert not g.item("medications").met


def test_medications_cites_the_medication_question_not_a_cream_question(embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "history_taking",
        ("learner", "How can I help?"),
        ("patient", "I've got an itchy rash on my arms."),
        ("learner", "Have you put any creams on it?"),
        ("patient", "Some moisturiser."),
        ("learner", "And do you take any regular medications?"),
        ("patient", "Just blood pressure tablets."),
        embedder=embedder,
    )
    item = g.item("medications")
    assert item.met
    assert item.evidence[0].turn == 4
    assert "regular medications" in item.evidence[0].quote


@pytest.mark.parametrize(
    "learner",
    [
        "So is the pain on the left side or the right side of your chest?",
        "So the cough and the fever are most likely from a virus, which is why antibiotics won't help.",
    ],
)
def test_a_clarifying_question_or_an_explanation_is_not_a_summary(learner: str, embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "history_taking",
        ("learner", "What's been happening?"),
        ("patient", "I've had a cough and a fever for three days, and pain in my chest."),
        ("learner", learner),
        embedder=embedder,
    )
    assert not g.item("summarises").met


def test_a_real_summary_still_counts(embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "history_taking",
        ("learner", "What's been happening?"),
        ("patient", "I've had a cough and a fever for three days, and pain in my chest."),
        ("learner", "So just to recap, you've had a cough and a fever for three days, and some chest pain."),
        embedder=embedder,
    )
    assert g.item("summarises").met


def test_respecting_the_importance_of_fasting_is_acknowledging(embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "cultural_competence",
        ("learner", "Is there anything about your routine I should know?"),
        ("patient", "Ramadan starts next week and I always fast, it is very important to me."),
        ("learner", "I respect how important fasting is to you."),
        embedder=embedder,
    )
    item = g.item("acknowledges_without_dismissing")
    assert item.met
    assert item.evidence[0].turn == 2


def test_is_that_ok_is_not_an_invitation_to_ask(embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "history_taking",
        ("learner", "I'll give you some antibiotics for a week. Is that OK?"),
        ("patient", "Yes."),
        embedder=embedder,
    )
    assert not g.item("invites_questions").met


def test_the_clinician_booking_something_is_not_safety_netting(embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "history_taking",
        ("learner", "I'll book you a follow-up appointment with the nurse."),
        ("patient", "Thank you."),
        embedder=embedder,
    )
    assert not g.item("safety_netting").met


def test_circumstances_are_not_onset_and_previous_episodes_are_not_past_history(embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "history_taking",
        ("learner", "What were you doing when it started?"),
        ("patient", "Gardening."),
        ("learner", "Have you had anything like this before?"),
        ("patient", "No, never."),
        embedder=embedder,
    )
    assert not g.item("onset_duration").met
    assert not g.item("past_medical_history").met


def test_a_nested_quantifier_is_refused_when_the_rubric_loads(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "schema_version: 1\nid: mini\ntitle: Mini\npass_mark: 50\nsections:\n  - id: main\n    title: Main\n"
        "    items:\n      - id: smoking\n        description: Asks about smoking.\n        evidence:\n"
        "          patterns: ['(\\w+\\s?)*smok']\n"
    )
    with pytest.raises(FileProblemError) as info:
        load_rubric_file(path)
    assert "catastrophic" in str(info.value) or "quantified group" in str(info.value)


def test_validate_warns_about_examples_that_miss_and_counter_examples_that_hit(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.yaml"
    path.write_text(
        "schema_version: 1\nid: mini\ntitle: Mini\npass_mark: 50\nsections:\n  - id: main\n    title: Main\n"
        "    items:\n      - id: smoking\n        description: Asks about smoking.\n        evidence:\n"
        "          acts: [question]\n          phrases: [smoke]\n"
        "          examples: ['Do you smoke?', 'I used to smoke myself.']\n"
        "          counter_examples: ['Do you smoke cigarettes?', 'Is the smoke alarm working?']\n"
        "          threshold: 0.9\n"
    )
    warnings = [str(w) for w in check_examples(load_rubric_file(path), embedder)]
    assert any("examples[1]" in w and "does not trigger" in w for w in warnings)  # a statement, not a question
    assert not any("counter_examples[1]" in w for w in warnings)
    assert all(w.startswith("smoking:") for w in warnings)


def test_the_shipped_rubrics_trigger_on_their_own_examples(embedder) -> None:  # type: ignore[no-untyped-def]
    for rid in ("history_taking", "breaking_bad_news", "cultural_competence"):
        assert [str(w) for w in check_examples(load_rubric(rid), embedder)] == []


def test_ac1_and_kappa() -> None:
    human = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    machine = [1, 1, 1, 1, 1, 1, 1, 0, 0, 1]
    assert cohen_kappa(human, machine) == pytest.approx(0.375)
    ac1 = gwet_ac1(human, machine)
    assert ac1 is not None and ac1 == pytest.approx((0.8 - 2 * 0.8 * 0.2) / (1 - 2 * 0.8 * 0.2))
    assert gwet_ac1([1, 1, 1], [1, 1, 1]) == pytest.approx(1.0)


def test_labels_from_several_files_and_the_split_file(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"t1": {"x": {"label": 1}}}')
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "b.json").write_text('{"t2": {"x": 0}}')
    assert load_label_files([tmp_path / "a.json", folder]) == {"t1": {"x": 1}, "t2": {"x": 0}}
    splits = tmp_path / "splits.yaml"
    splits.write_text("r:\n  dev: [t1]\n  heldout: [t2]\n")
    assert load_splits(splits, "r") == {"dev": ["t1"], "heldout": ["t2"]}
    assert load_splits(splits, "other") == {}


@pytest.mark.parametrize(
    "question",
    [
        "Could you tell me what you remember about why we did the scan?",
        "Before I go through it, what's your own sense of what has been happening?",
        "What did the nurse say about the biopsy?",
        "Did the doctor at the clinic say anything to you about the X-ray?",
    ],
)
def test_perception_is_asking_what_the_patient_knows_before_the_news(question: str, embedder) -> None:  # type: ignore[no-untyped-def]
    before = grade(
        "breaking_bad_news",
        ("learner", question),
        ("patient", "Not much, they just said they'd found something."),
        ("learner", "I'm afraid the results are not good. The biopsy shows it is cancer."),
        ("patient", "Oh no."),
        embedder=embedder,
    )
    assert before.item("perception").met
    after = grade(
        "breaking_bad_news",
        ("learner", "I'm afraid the results are not good. The biopsy shows it is cancer."),
        ("patient", "Oh no."),
        ("learner", question),
        ("patient", "Not much."),
        embedder=embedder,
    )
    assert not after.item("perception").met


def test_beliefs_and_practices_includes_following_up_a_practice_the_patient_mentions(embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "cultural_competence",
        ("learner", "What's been happening?"),
        ("patient", "My back aches. My grandmother's cure is a hot poultice and prayers."),
        ("learner", "Does the poultice help at all?"),
        ("patient", "A little."),
        embedder=embedder,
    )
    assert g.item("beliefs_and_practices").met
    other = grade(
        "cultural_competence",
        ("learner", "What's been happening?"),
        ("patient", "My back aches. My grandmother's cure is a hot poultice and prayers."),
        ("learner", "Does it hurt when you bend forward?"),
        ("patient", "Yes."),
        embedder=embedder,
    )
    assert not other.item("beliefs_and_practices").met


@pytest.mark.parametrize(
    "question",
    [
        "Whereabouts on your leg is the rash?",
        "Which fingers go numb?",
        "Are you aware of anything that triggers it?",
        "Is it a tingling kind of feeling?",
    ],
)
def test_symptom_character_is_any_socrates_element_but_onset(question: str, embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "history_taking",
        ("learner", "What brings you in today?"),
        ("patient", "I've had this problem for about a week."),
        ("learner", question),
        ("patient", "I'm not sure."),
        embedder=embedder,
    )
    assert g.item("symptom_character").met


@pytest.mark.parametrize(
    "opening",
    [
        "Come in and grab a chair; I've switched my phone off so we won't be interrupted.",
        "Let's use the family room down the corridor, it's quieter there.",
        "Is your brother coming in with you, or would you like to wait for him?",
        "Are you happy for your friend to stay while we talk?",
    ],
)
def test_setting_up_is_seat_privacy_company_or_no_interruptions_before_the_news(opening: str, embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "breaking_bad_news",
        ("learner", opening),
        ("patient", "OK."),
        ("learner", "I'm afraid the results are not good. The biopsy shows it is cancer."),
        embedder=embedder,
    )
    assert g.item("setting_up").met
    assert [e.turn for e in g.item("setting_up").evidence] == [0]
    courtesy = grade(
        "breaking_bad_news",
        ("learner", "Hello, it's Dr Lewis. I'm afraid the results are not good: the biopsy shows cancer."),
        ("patient", "Oh."),
        embedder=embedder,
    )
    assert not courtesy.item("setting_up").met


@pytest.mark.parametrize(
    "question",
    [
        "Some people like all the detail and others just the headlines; which would you prefer?",
        "Do you want me to give you the result straight away?",
        "How would you like me to go through this?",
    ],
)
def test_invitation_is_asking_how_much_or_asking_permission(question: str, embedder) -> None:  # type: ignore[no-untyped-def]
    g = grade(
        "breaking_bad_news",
        ("learner", question),
        ("patient", "Just tell me."),
        ("learner", "I'm afraid the results are not good. The biopsy shows it is cancer."),
        embedder=embedder,
    )
    assert g.item("invitation").met and g.item("invitation").evidence[0].turn == 0


def test_an_evaded_is_it_cancer_is_not_the_diagnosis_in_plain_words(embedder) -> None:  # type: ignore[no-untyped-def]
    evaded = grade(
        "breaking_bad_news",
        ("learner", "I'm afraid the scan shows a tumour in your bowel."),
        ("patient", "Is it cancer?"),
        ("learner", "That's a question for the surgeons, they'll explain everything."),
        ("patient", "Right."),
        embedder=embedder,
    )
    assert not evaded.item("knowledge_plain_language").met
    answered = grade(
        "breaking_bad_news",
        ("learner", "I'm afraid the scan shows a tumour in your bowel."),
        ("patient", "Is it cancer?"),
        ("learner", "Yes, it is a cancer."),
        embedder=embedder,
    )
    assert answered.item("knowledge_plain_language").met
