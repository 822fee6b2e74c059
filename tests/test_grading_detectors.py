"""Detectors on crafted utterances: acts, consultation moves, jargon, summaries, symptoms, culture."""

from __future__ import annotations

import pytest

from vpatient.grading.analysis import Analysis
from vpatient.grading.detectors import (
    acknowledges_belief,
    belief_question,
    delivers_diagnosis,
    greeting_and_introduction,
    jargon_unexplained,
    new_symptom_question,
    plain_diagnosis,
    plain_explanation,
    safety_net,
    summary_detector,
)
from vpatient.grading.schema import Evidence
from vpatient.language import culture, jargon, moves
from vpatient.language.summary import find_summary
from vpatient.transcript import Transcript, Turn


def conv(*lines: str) -> Analysis:
    """Alternating learner / patient turns, learner first."""
    turns = [Turn("learner" if i % 2 == 0 else "patient", text) for i, text in enumerate(lines)]
    return Analysis(Transcript(id="t", turns=turns))


EV = Evidence()


@pytest.mark.parametrize(
    ("text", "asking"),
    [
        ("Do you smoke at all?", True),
        ("When did it start.", True),
        ("Tell me about your family.", True),
        ("Regarding smoking and alcohol.", True),
        ("If you could tell me what your medications are.", True),
        ("When they start eating you give soft food.", False),
        ("You mentioned it started three days ago.", False),
        ("Might be worth a blood test.", False),
    ],
)
def test_is_asking(text: str, asking: bool) -> None:
    assert moves.is_asking(text) is asking


@pytest.mark.parametrize(
    ("text", "invites", "checks"),
    [
        ("Do you have any questions for me?", True, False),
        ("Is there anything you'd like to ask?", True, False),
        ("Does that make sense?", False, True),
        ("Can you tell me in your own words what we've agreed?", False, True),
        ("Is that OK?", False, False),
        ("All right?", False, False),
        ("Is it clear or coloured?", False, False),
    ],
)
def test_invitations_and_understanding_checks(text: str, invites: bool, checks: bool) -> None:
    assert moves.invites_questions(text) is invites
    assert moves.checks_understanding(text) is checks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("If it gets worse or you notice any blood, come back and see me.", True),
        ("If you're still not better by next week, I want you to give me a call.", True),
        ("Please come back in two weeks so we can review it.", True),
        ("Things to look out for are a high fever or chest pain. If so, call 111.", True),
        ("I'll book you a follow-up scan.", False),
        ("The results will come back to us after about five days.", False),
        ("We're going to call an ambulance for you now.", False),
        ("If the results are abnormal, I'll call you.", False),
    ],
)
def test_safety_netting(text: str, expected: bool) -> None:
    assert moves.safety_netting(text) is expected


def test_safety_net_detector_quotes_the_sentence() -> None:
    an = conv(
        "Take paracetamol for the pain. If it isn't getting better in three days, come back and see me.",
        "OK.",
    )
    hits = safety_net(an, EV)
    assert [h.turn for h in hits] == [0]
    assert hits[0].quote == "If it isn't getting better in three days, come back and see me."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm afraid the scan has shown something serious.", True),
        ("Unfortunately the results aren't what we were hoping for.", True),
        ("I don't have good news from the biopsy.", True),
        ("The results are good news.", False),
        ("The scan came back clear.", False),
    ],
)
def test_warning_shot(text: str, expected: bool) -> None:
    assert moves.warning_shot(text) is expected


def test_summary_needs_two_restated_facts_after_an_explicit_opener() -> None:
    said = "I've had diarrhoea for three days and cramps on the left side, and I was sick once."
    found = find_summary("So just to recap, you've had diarrhoea for three days, with cramps on the left.", said)
    assert found is not None and len(found.facts) >= 2
    assert find_summary("So just to recap, you've had diarrhoea.", said) is None


def test_a_you_mentioned_follow_up_is_not_a_summary() -> None:
    said = "I've had diarrhoea for three days and cramps on the left side."
    assert find_summary("You mentioned cramps. Where exactly is the pain?", said) is None
    assert find_summary("You mentioned diarrhoea, cramps, and it's been three days.", said) is not None


def test_examination_findings_are_not_restated_facts() -> None:
    said = "My throat is sore and I've got a temperature."
    text = "So to summarise, your throat looks red, your temperature is 38, so I think it's tonsillitis."
    assert find_summary(text, said) is None


def test_summary_detector_cites_the_turn() -> None:
    an = conv(
        "How can I help?",
        "I've had a cough for a week and I'm short of breath on the stairs.",
        "Let me summarise: a cough for a week, and breathless on the stairs.",
    )
    hits = summary_detector(an, EV)
    assert [h.turn for h in hits] == [2] and "restates" in hits[0].reason


def test_new_symptom_question_ignores_what_the_patient_already_said() -> None:
    an = conv(
        "What's the problem?",
        "I've had diarrhoea and a fever since Monday.",
        "Any fever with it?",
        "Yes.",
        "Any blood in your stools, or vomiting?",
    )
    hits = new_symptom_question(an, EV)
    assert [h.turn for h in hits] == [4]
    assert "blood" in hits[0].reason and "vomit" in hits[0].reason


def test_greeting_needs_an_introduction() -> None:
    assert greeting_and_introduction(conv("Hello there.", "Hi.", "How can I help?"), EV) == []
    hits = greeting_and_introduction(conv("Good morning, I'm Dr Shah, one of the GPs.", "Hi."), EV)
    assert [h.turn for h in hits] == [0]
    assert greeting_and_introduction(conv("Hello.", "Hi.", "My name's Sam, I'm a medical student."), EV)


def test_jargon_explained_or_not() -> None:
    an = conv("The scan shows metastatic disease.", "What?", "It's palliative, which means care focused on comfort.")
    hits = jargon_unexplained(an, EV)
    assert [h.turn for h in hits] == [0] and "'metastatic'" in hits[0].reason


def test_jargon_explained_in_the_next_turn_unless_the_patient_had_to_ask() -> None:
    asked = conv("You have a lesion on the liver.", "What does that mean?", "It's an abnormal area.")
    assert [h.turn for h in jargon_unexplained(asked, EV)] == [0]
    unprompted = conv("You have a lesion on the liver.", "Oh.", "That means an abnormal area on the scan.")
    assert jargon_unexplained(unprompted, EV) == []


def test_abbreviations_count_as_jargon_unless_spelled_out() -> None:
    assert jargon.acronyms("Your eGFR is 9 and the EBUS is booked.") == [("eGFR", 5), ("EBUS", 23)]
    assert jargon.acronyms("Your GP and the NHS, an MRI and HIV.") == []
    an = conv("You have motor neurone disease.", "Oh no.", "MND affects the nerves that work the muscles.")
    assert jargon_unexplained(an, EV) == []
    an = conv("We'll arrange an EBUS next week.", "OK.")
    assert [h.turn for h in jargon_unexplained(an, EV)] == [0]


def test_ignore_terms_and_extra_terms() -> None:
    an = conv("You'll need chemotherapy and a PET-CT.", "OK.")
    ev = Evidence(detector="jargon_unexplained", terms=["pet-ct"], ignore_terms=["chemotherapy"])
    hits = jargon_unexplained(an, ev)
    assert hits and "'pet-ct'" in hits[0].reason and "chemotherapy" not in hits[0].reason


def test_plain_diagnosis() -> None:
    assert [h.turn for h in plain_diagnosis(conv("The biopsy shows that it is cancer."), EV)] == [0]
    assert plain_diagnosis(conv("The scan shows metastatic disease."), EV) == []
    assert plain_diagnosis(conv("We did the test to rule out cancer."), EV) == []
    assert plain_diagnosis(conv("Is it cancer?"), EV) == []


def test_plain_explanation_needs_no_unexplained_jargon() -> None:
    good = conv("Your body isn't making enough insulin, which means the sugar builds up in your blood.")
    assert plain_explanation(good, EV)
    bad = conv("Your HbA1c indicates suboptimal glycaemic control, which is why your sugar is high.")
    assert plain_explanation(bad, EV) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("People like you usually don't take their tablets.", True),
        ("I assume you'll be fasting, since you're Muslim.", True),
        ("In your culture, people don't talk about mental health.", True),
        ("You all eat so much rice, that's the reason.", True),
        ("Everybody from Nigeria expects an injection.", True),
        ("Like most Sikhs, you'll want to keep your turban on.", True),
        ("I guess in the Somali community you don't really see doctors much.", True),
        ("In England people usually wait a few days before antibiotics.", False),
        ("Some Witnesses accept some blood fractions and others do not; what would you accept?", False),
        ("Will you be fasting during Ramadan this year?", False),
        ("In your culture, what do people call this illness?", False),
        ("Your white cells are a little low.", False),
    ],
)
def test_stereotyping(text: str, expected: bool) -> None:
    assert culture.is_stereotyping(text) is expected


def test_acknowledging_a_belief_needs_context_and_no_dismissal() -> None:
    respectful = conv(
        "What have you tried?",
        "I pray and drink ginger tea every morning.",
        "Thank you for telling me, that's important to know. You can carry on with the tea.",
    )
    assert [h.turn for h in acknowledges_belief(respectful, EV)] == [2]
    dismissive = conv(
        "What have you tried?",
        "I pray and drink ginger tea every morning.",
        "I understand, but that's superstition; the tea won't do anything.",
    )
    assert acknowledges_belief(dismissive, EV) == []
    unrelated = conv("How are you?", "Fine.", "Thank you for telling me.")
    assert acknowledges_belief(unrelated, EV) == []


def test_respect_for_a_belief_raised_earlier_and_practice_in_another_country() -> None:
    later = conv(
        "Is there anything about the operation you'd want us to know?",
        "I'm a Jehovah's Witness. I won't accept blood.",
        "Thank you. What would you accept?",
        "I know. I've thought about it. I've made my peace with that.",
        "I respect that you have weighed this carefully, and it is your decision.",
    )
    assert [h.turn for h in acknowledges_belief(later, EV)] == [4]
    thanks_only = conv(
        "How is the cough?",
        "In Poland we pray for it.",
        "Any fever?",
        "No.",
        "Any phlegm?",
        "No.",
        "Thanks for telling me.",
    )
    assert acknowledges_belief(thanks_only, EV) == []  # plain thanks two turns on is not respect for the belief
    elsewhere = conv(
        "What were you hoping for today?",
        "In Poland the doctor gives antibiotic straight away, and it's finished in three days.",
        "I get that it's done differently back home. Here we only use antibiotics for bacteria.",
    )
    assert [h.turn for h in acknowledges_belief(elsewhere, EV)] == [2]
    assert not culture.mentions_belief("In January the pain started, and in London the doctors said it was nothing.")


def test_belief_question_own_remedies_and_follow_ups() -> None:
    """beliefs_and_practices: asking about the patient's own remedies, or following up a belief or practice
    the patient has just mentioned, counts; a question on another subject after such a mention does not."""
    remedies = conv("Hello.", "My knee hurts.", "Have you done anything for it yourself, at home?")
    assert [h.turn for h in belief_question(remedies, EV)] == [2]
    follow_up = conv("What do you think is going on?", "My imam says I should pray more.", "Does praying help you?")
    assert [h.turn for h in belief_question(follow_up, EV)] == [2]
    refusal = conv("Hello.", "I'm a Jehovah's Witness, I won't accept blood.", "Which treatments would you accept?")
    assert [h.turn for h in belief_question(refusal, EV)] == [2]
    other_subject = conv("Hello.", "I have been fasting for Ramadan.", "How long have you had the headache?")
    assert belief_question(other_subject, EV) == []
    statement = conv("Hello.", "I pray every day.", "That helps a lot of people.")
    assert belief_question(statement, EV) == []
    no_belief = conv("Hello.", "I've had a cough for a week.", "Has it helped to rest?")
    assert belief_question(no_belief, EV) == []


@pytest.mark.parametrize(
    ("text", "nets"),
    [
        # telling the patient when to get in touch or be seen counts, conditional or not
        ("You can ring the support team this afternoon and they will fit you in.", True),
        ("Please make sure that appointment happens today.", True),
        ("If that isn't available, I'd like you to take yourself to A and E.", True),
        ("If you feel worse in any way, you should see somebody sooner.", True),
        ("If it's not settling, then we need to talk to you again.", True),
        # the clinician's own actions, or advice with no getting in touch, do not
        ("I'll book you a scan for tomorrow.", False),
        ("I will call you tomorrow with the results.", False),
        ("Take the first tablet today.", False),
        ("If it's not settling, keep taking the paracetamol.", False),
    ],
)
def test_safety_netting_includes_when_to_get_in_touch(text: str, nets: bool) -> None:
    assert moves.safety_netting(text) is nets


def test_a_diagnosis_the_learner_will_not_confirm_was_not_delivered() -> None:
    """knowledge_plain_language: naming it once and then evading the patient's 'is it cancer?' is not
    delivering the diagnosis clearly; confirming it, or saying it plainly later, is."""
    evaded = conv(
        "The scan shows a tumour in the pancreas.",
        "Is it cancer, then?",
        "The specialists will go through all of that with you next week.",
        "Right.",
    )
    assert plain_diagnosis(evaded, EV) and delivers_diagnosis(evaded, EV) == []
    confirmed = conv("The scan shows a tumour in the pancreas.", "Is it cancer, then?", "Yes, I'm afraid it is.")
    assert [h.turn for h in delivers_diagnosis(confirmed, EV)] == [0]
    named_later = conv(
        "The scan shows a tumour.",
        "Is it cancer?",
        "Let's wait for the team.",
        "Please, I need to know.",
        "It is a cancer, yes.",
    )
    assert [h.turn for h in delivers_diagnosis(named_later, EV)] == [4]
    jargon_answer = conv("It's a tumour.", "Are you saying I've got cancer?", "It's a malignant neoplasm.")
    assert delivers_diagnosis(jargon_answer, EV) == []
    death = conv("I'm so sorry. Your husband died a few minutes ago.")
    assert delivers_diagnosis(death, EV)


def test_accepting_a_practice_the_patient_mentioned_is_acknowledging_it() -> None:
    """acknowledges_without_dismissing: accepting a belief or practice the patient has just described
    ('that's fine to carry on', 'no problem') counts, in any words; accepting nothing does not."""
    for reply in (
        "The turmeric milk is no problem at all, and the tablets can go alongside it.",
        "That's a good point, and it's fine to keep praying the way you do.",
        "It helps me to understand how you see it.",
    ):
        a = conv("Have you tried anything at home?", "My grandmother taught me turmeric milk and prayer.", reply)
        assert [h.turn for h in acknowledges_belief(a, EV)] == [2], reply
    no_belief = conv("Any allergies?", "No, none.", "That's fine.")
    assert acknowledges_belief(no_belief, EV) == []


@pytest.mark.parametrize(
    "reply",
    [
        "That makes a lot of sense, and I don't want to take you away from that.",
        "Those sound fine. Is there anything about your routine we should plan around?",
        "Family can play a part, yes. Are you using anything for it?",
        "So your mother is not completely wrong.",
    ],
)
def test_validating_what_the_patient_believes_is_acknowledging(reply: str) -> None:
    said = conv("What do you think brought it on?", "My mother says it is the cold wind. I drink ginger tea.", reply)
    assert [h.turn for h in acknowledges_belief(said, EV)] == [2]


def test_importance_as_an_instruction_is_not_acknowledging() -> None:
    said = conv("What have you tried?", "I pray and drink ginger tea.", "It is important to take the tablets.")
    assert acknowledges_belief(said, EV) == []
