"""A patient that holds a natural consultation: learner moves, memory, disclosure, affect and every persona field.

All with the real packaged MiniLM and the shipped personas (or variants of them changed in one field)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vpatient.errors import FileProblemError
from vpatient.persona.engine import ScriptedEngine
from vpatient.persona.schema import Persona

ROOT = Path(__file__).resolve().parent.parent
CHEST = ROOT / "personas" / "chest_pain_exertional.yaml"
LUNG = ROOT / "personas" / "lung_cancer_news.yaml"
DIABETES = ROOT / "personas" / "diabetes_ramadan.yaml"


def variant(path: Path, **changes: Any) -> Persona:
    """The persona at `path` with dotted fields changed ('style.recall': 'low')."""
    data = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return Persona.model_validate(data)


@pytest.fixture()
def chest(embedder) -> ScriptedEngine:  # type: ignore[no-untyped-def]
    return ScriptedEngine(variant(CHEST), embedder)


def test_social_moves_get_social_replies(chest: ScriptedEngine) -> None:
    assert chest.respond("Hi, I'm Sam, one of the medical students.").text == "Morning, doctor."
    assert chest.respond("Is it OK if I ask you a few questions?").text == "Yes, of course."
    assert chest.respond("How old are you?").text == "I'm 58."
    assert chest.respond("Lovely weather today, isn't it?").text == "Yes, it is."
    assert chest.respond("Um, okay.").disclosed == []
    assert "didn't catch" in chest.respond("[unintelligible]").text
    opening = chest.respond("What's brought you in today?")
    assert not opening.text.startswith("Morning, doctor.")  # the greeting was already returned
    assert opening.disclosed == ["pain_onset"]


def test_follow_ups_and_people_the_patient_mentioned(chest: ScriptedEngine) -> None:
    assert chest.respond("Any family history of heart problems?").disclosed == ["fh_father_mi"]
    assert "61" in chest.respond("How old was he when he passed?").text
    assert "Carol" in chest.respond("Who is Carol?").text
    chest.respond("Do you smoke?")
    assert "sixteen" in chest.respond("How long's that been going on?").text


def test_two_part_questions_get_both_halves_and_repeats_are_short(chest: ScriptedEngine) -> None:
    both = chest.respond("Do you smoke or drink?")
    assert set(both.disclosed) == {"smoking_history", "alcohol"}
    listed = chest.respond("Any medical problems, regular tablets, allergies?")
    assert {"pmh_hypertension", "meds_amlodipine", "allergies_none"} <= set(listed.disclosed)
    again = chest.respond("Sorry, do you smoke?").text
    assert again.startswith("As I said,") and "fifteen" in again and "sixteen" not in again


def test_asked_what_they_thought_it_was_the_patient_gives_its_idea(chest: ScriptedEngine) -> None:
    for q in ("Where is the pain?", "Do you smoke?", "Who's at home with you?"):
        chest.respond(q)
    reply = chest.respond("What did you think it was, before you came in?")
    assert reply.disclosed == ["ice_ideas"], reply.text


def test_a_list_of_symptoms_gets_each_of_them(chest: ScriptedEngine) -> None:
    """Keywords name two of the three; the third ('dizzy spells') is matched by meaning."""
    reply = chest.respond("Heart racing, dizzy spells, sweating?")
    assert {"no_palpitations", "no_syncope", "no_sweating_nausea"} <= set(reply.disclosed), reply.text


def test_summaries_are_confirmed_or_corrected(chest: ScriptedEngine) -> None:
    chest.respond("What's brought you in today?")
    right = chest.respond("So just to recap, it started about three weeks ago. Have I got that right?")
    assert right.text.startswith("Yes, that's right.")
    wrong = chest.respond("So you've had this for three months, is that right?")
    assert wrong.text.startswith("Not quite.") and "three weeks" in wrong.text
    chest.respond("Does it go anywhere?")
    arm = chest.respond("Just to recap, it goes down your right arm. Is that correct?")
    assert arm.text.startswith("Not quite.") and "left arm" in arm.text


def test_a_wrong_number_is_corrected_from_the_statement_that_gave_it(chest: ScriptedEngine) -> None:
    """The part is nearest the statement about the chest, but 'three months' is the onset's 'three weeks' (not the
    episode's 'three minutes')."""
    chest.respond("Can you tell me a bit more about this tight feeling?")
    chest.respond("And how long does it last each time?")
    wrong = chest.respond("So you've had a tightness in the middle of your chest for three months. Is that right?")
    assert wrong.text.startswith("Not quite.") and "three weeks" in wrong.text, wrong.text


def test_asked_for_other_places_the_patient_tells_something_new(chest: ScriptedEngine) -> None:
    chest.respond("Where exactly is the pain?")
    reply = chest.respond("From the chest it goes to other places also?")
    assert reply.disclosed == ["pain_radiation"], reply.text


def test_that_names_a_place_the_question_is_about_something_new(chest: ScriptedEngine) -> None:
    chest.respond("When did it all start?")  # "...walking up the hill to the depot"
    reply = chest.respond("Is that where you work?")
    assert "social_work" in reply.disclosed, reply.text
    chest.respond("Do you smoke?")
    assert "sixteen" in chest.respond("How long's that been going on?").text  # when-words lean on what was said


def test_a_question_just_short_of_a_clear_match_is_answered_not_asked_back(  # type: ignore[no-untyped-def]
    chest: ScriptedEngine, embedder
) -> None:
    reply = chest.respond("And it goes off when you stop?")
    assert reply.disclosed == ["pain_relief"], reply.text
    news = ScriptedEngine(variant(ROOT / "personas" / "miscarriage_news.yaml"), embedder)
    news.respond("Has anyone told you what the scan showed?")
    again = news.respond("And nobody explained you anything yet?")  # what was just said, asked again less clearly
    assert again.text.startswith("As I said") and again.disclosed == ["results_not_told"], again.text


def test_a_turn_with_nothing_heard_but_small_words_is_asked_again(chest: ScriptedEngine) -> None:
    reply = chest.respond("And does it ever [inaudible] ... when you're ... [inaudible] ... at all?")
    assert reply.text == chest.persona.small_talk.pardon, reply.text


def test_a_question_is_answered_though_it_names_someone_just_mentioned(embedder) -> None:  # type: ignore[no-untyped-def]
    """'him' is the baby the patient just spoke of, but the question is about her support."""
    engine = ScriptedEngine(variant(ROOT / "personas" / "postnatal_low_mood.yaml"), embedder)
    engine.respond("It sounds like you've had a really hard few weeks.")
    engine.respond("I'm so sorry, that sounds exhausting.")
    worry = engine.respond("That must have been a fright with the bath. Do you find yourself worrying about him a lot?")
    assert "Tobi" in worry.text  # the baby named just before the question
    reply = engine.respond("Who's around to give you a hand with him during the day?")
    assert reply.disclosed == ["support"], reply.text


def test_after_the_news_the_fear_it_now_has_is_told_not_the_old_worry(embedder) -> None:  # type: ignore[no-untyped-def]
    lung = ScriptedEngine(variant(LUNG), embedder)
    lung.respond("How have you been since the scan?")
    lung.respond("I'm afraid it's not good news.")
    lung.respond("The scan shows a growth in your lung, and it is very likely to be cancer.")
    lung.respond("I'm so sorry. This must be a terrible shock.")
    reply = lung.respond("What is making you most scared?")
    assert reply.disclosed == ["fear_of_dying_like_sean"], reply.text


def test_jargon_glossed_in_other_words_is_understood() -> None:
    from vpatient.language import jargon

    assert jargon.unexplained("Do you remember your last three-month sugar blood test, the HbA1c?") == []
    assert jargon.unexplained("What was your last HbA1c?") == ["hba1c"]


def test_rapport_is_earned_by_empathy_not_by_plain_questions(chest: ScriptedEngine) -> None:
    for q in ("Where is the pain?", "How often does it happen?", "What do you do for work?", "Do you smoke?"):
        chest.respond(q)
    early = chest.respond("Do you ever miss your tablets?")
    assert "meds_missed_doses" not in early.disclosed
    assert early.text.startswith("I mostly take them, yeah.")  # the cover story
    chest.respond("That must be really worrying for you, with your dad.")
    told = chest.respond("Do you ever miss any of your tablets?")
    assert "meds_missed_doses" in told.disclosed
    after = chest.respond("Do you take your blood pressure tablets every day?")
    assert "I mostly take them" not in after.text  # the cover story is retired once the truth is told


def test_explanations_plans_safety_netting_and_goodbye(chest: ScriptedEngine) -> None:
    chest.respond("That must be worrying.")
    reaction = chest.respond("I think this could be angina, which is when the heart muscle doesn't get enough blood.")
    assert reaction.kind == "reaction" and reaction.disclosed in ([], ["ice_concerns"])
    assert chest.respond("I'd like to refer you to the chest pain clinic. Is that OK?").text.startswith("Okay")
    assert "I'll do that" in chest.respond("If the pain comes on at rest, call 999.").text
    assert chest.respond("Thanks for coming in. Bye.").text == "Right you are. Thanks for your time."


def test_jargon_to_a_low_literacy_patient_is_questioned_and_costs_trust(chest: ScriptedEngine) -> None:
    before = chest.affect.rapport
    r = chest.respond("Any orthopnoea or PND?")
    assert r.kind == "clarify" and r.disclosed == []
    assert chest.affect.rapport < before
    # once asked about, the learner's next turn counts as the explanation: the patient does not loop
    chest.respond("Sorry, I mean do you get breathless lying flat, or wake up gasping at night?")
    assert chest.respond("Any more orthopnoea since?").kind != "clarify"


def test_medium_literacy_asks_only_when_the_jargon_piles_up(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(CHEST, **{"style.health_literacy": "medium"}), embedder)
    assert engine.respond("And have you noticed any haemoptysis at all over the last few weeks?").kind != "clarify"
    assert engine.respond("Any orthopnoea, PND or dyspnoea?").kind == "clarify"
    # a short question that turns on one new term cannot be answered without it; a term let pass is not asked
    assert engine.respond("So no haemoptysis then?").kind != "clarify"
    fresh = ScriptedEngine(variant(CHEST, **{"style.health_literacy": "medium"}), embedder)
    assert fresh.respond("Any haemoptysis?").kind == "clarify"


def test_bad_news_blunt_goodbye_shows_and_worries_move_on(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(LUNG), embedder)
    engine.respond("Hello Margaret, I'm Dr Patel.")
    engine.respond("The scan shows lung cancer.")
    anger = engine.affect.anger
    blunt = engine.respond("Next patient please. Bye.")
    assert blunt.kind == "reaction" and "Is that it?" in blunt.text
    assert engine.affect.anger > anger
    worry = engine.respond("What worries you most?")
    assert "frightened it's cancer" not in worry.text.lower()


def test_closing_after_empathy_is_a_normal_goodbye(embedder) -> None:  # type: ignore[no-untyped-def]
    persona = variant(LUNG)
    engine = ScriptedEngine(persona, embedder)
    engine.respond("I'm afraid the results are not what we hoped.")
    engine.respond("The scan shows a lung cancer.")
    engine.respond("I can see this is a real shock. Take your time.")
    assert engine.respond("Goodbye for now, take care.").text == persona.small_talk.closing


# ----------------------------------------------------------------- every persona field does something


def test_recall_low_hedges_dates_and_numbers(embedder) -> None:  # type: ignore[no-untyped-def]
    high = ScriptedEngine(variant(CHEST), embedder).respond("When did it start?").text
    low = ScriptedEngine(variant(CHEST, **{"style.recall": "low"}), embedder).respond("When did it start?").text
    assert not high.startswith("I think") and low.startswith("I think")


def test_filler_words_start_some_replies(embedder) -> None:  # type: ignore[no-untyped-def]
    plain = ScriptedEngine(variant(CHEST), embedder)
    fillers = ScriptedEngine(variant(CHEST, **{"style.filler_words": True}), embedder)
    plain.respond("Hello.")
    fillers.respond("Hello.")
    a, b = plain.respond("Do you smoke?").text, fillers.respond("Do you smoke?").text
    assert a.startswith("I smoke") and b.split(",")[0] in ("Um", "Well", "Erm")


def test_improves_with_and_worsens_with_double_the_effect(embedder) -> None:  # type: ignore[no-untyped-def]
    base = ScriptedEngine(variant(CHEST, **{"affect.worsens_with": []}), embedder)
    sensitive = ScriptedEngine(variant(CHEST, **{"affect.worsens_with": ["medical jargon"]}), embedder)
    for e in (base, sensitive):
        e.respond("Any haemoptysis?")
    assert 0.3 - sensitive.affect.rapport == pytest.approx(2 * (0.3 - base.affect.rapport))


def test_language_fluency_and_interpreter(embedder) -> None:  # type: ignore[no-untyped-def]
    diabetes = ScriptedEngine(variant(DIABETES), embedder)
    assert "Sylheti" in diabetes.respond("Would you like an interpreter?").text
    english = ScriptedEngine(variant(CHEST), embedder)
    assert english.respond("Would you like an interpreter?").text == "No, English is fine, thank you."
    fluent = ScriptedEngine(variant(CHEST), embedder).respond("Any family history?").text
    halting = variant(CHEST, **{"culture.consultation_language_fluency": "low"})
    short = ScriptedEngine(halting, embedder).respond("Any family history?").text
    assert fluent.count(".") == 2 and short.count(".") == 1  # only the first sentence of each statement


def test_reluctant_to_say_is_withheld_until_rapport(embedder) -> None:  # type: ignore[no-untyped-def]
    persona = variant(CHEST, **{"culture.reluctant_to_say": ["smoking_history"]})
    engine = ScriptedEngine(persona, embedder)
    assert "smoking_history" not in engine.respond("Do you smoke?").disclosed
    engine.respond("That must be really hard, I can see you're worried.")
    assert "smoking_history" in engine.respond("Do you smoke at all?").disclosed


def test_understanding_answers_a_perception_question(embedder) -> None:  # type: ignore[no-untyped-def]
    words = "They said the X-ray showed a shadow, that's all I know."
    engine = ScriptedEngine(variant(LUNG, **{"bad_news.understanding": words}), embedder)
    assert words in engine.respond("What do you understand so far about why you had the scan?").text


def test_pronouns_preferred_name_and_age(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(CHEST, **{"identity.preferred_name": "Bob"}), embedder)
    assert engine.respond("What would you like me to call you?").text == "Bob is fine."
    assert engine.respond("What are your pronouns?").text == "he/him."


def test_talkativeness_bounds_what_one_reply_tells(embedder) -> None:  # type: ignore[no-untyped-def]
    chatty = ScriptedEngine(variant(CHEST, **{"style.talkativeness": "high"}), embedder)
    quiet = ScriptedEngine(variant(CHEST, **{"style.talkativeness": "low"}), embedder)
    q = "Any medical problems, regular tablets, allergies, smoking?"
    assert len(chatty.respond(q).disclosed) >= 4
    assert len(quiet.respond(q).disclosed) == 2


def test_voice_hint_and_speaking_rate_shape_the_voice() -> None:
    from vpatient.speech.tts import prosody, voice_sex

    base = prosody(variant(CHEST), "neutral").speed
    assert prosody(variant(CHEST, **{"presentation.speaking_rate": 0.8}), "neutral").speed < base
    assert prosody(variant(CHEST, **{"presentation.voice": "older male, slow"}), "neutral").speed < base
    assert voice_sex(variant(CHEST)) == "male"
    assert voice_sex(variant(CHEST, **{"presentation.voice": "female"})) == "female"


def test_small_talk_keys_are_typed() -> None:
    with pytest.raises(ValueError, match="gretting"):
        variant(CHEST, **{"small_talk.gretting": "Hi."})


def test_deflection_is_still_read_as_the_cover_story() -> None:
    persona = variant(CHEST)
    missed = next(s for s in persona.facts if s.id == "meds_missed_doses")
    assert missed.cover_story == "I mostly take them, yeah."


def test_validate_warns_about_rapport_without_cover_and_unread_sensitivities(embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.lint import warnings

    data = yaml.safe_load(CHEST.read_text())
    for f in data["facts"]:
        if f["id"] == "meds_missed_doses":
            del f["deflection"]
    data["affect"]["improves_with"] = ["the smell of coffee"]
    found = warnings(Persona.model_validate(data), embedder)
    assert any(w.startswith("meds_missed_doses:") and "cover_story" in w for w in found)
    assert any("the smell of coffee" in w for w in found)
    assert not [w for w in warnings(variant(CHEST), embedder) if "none of its own" in w]


def test_persona_file_errors_name_the_cover_story(tmp_path: Path) -> None:
    from vpatient.persona.loader import load_persona

    text = CHEST.read_text().replace("deflection: I mostly take them, yeah.", "deflection: '  '")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(FileProblemError, match="cover_story"):
        load_persona(path)


def test_offers_and_proposals_get_a_yes_choices_and_wh_questions_do_not(chest: ScriptedEngine) -> None:
    agree = chest.persona.small_talk.agree
    assert chest.respond("Shall we meet again next week to go through the results?").text == agree
    assert agree in chest.respond("One of the nurses can sit in with us too, if that's alright?").text
    assert chest.respond("When your wife comes, would you like that I explain it again to both of you?").text == agree
    assert chest.respond("Would you like to sit here, or would you rather stand?").text != agree
    assert chest.respond("And what would you like me to help with today?").text != agree


def test_learner_readings_of_say_backs_silences_and_quoted_words() -> None:
    from vpatient.persona.learner_moves import Move, read_turn

    say_back = read_turn("So you've had the pain for two weeks and it's worse at night, is that right?")
    assert say_back.has(Move.summary) and not say_back.questions
    assert read_turn("So just so I've got it right, it started on Sunday?").has(Move.summary)
    assert not read_turn("So you have chest pain, right?").has(Move.summary)  # too short to be a summary
    silence = read_turn("I'm so sorry. Take as long as you need.")
    assert silence.has(Move.invitation_to_talk) and not silence.has(Move.closing)
    assert not read_turn("You said you're fine, but it sounds like you're carrying a lot.").has(Move.dismissal)
    assert read_turn("Oh you're fine, stop worrying.").has(Move.dismissal)


def test_plain_explanation_after_jargon_restores_trust(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(CHEST), embedder)
    engine.affect.anger = 0.5
    engine.respond("It's a narrowing of the arteries that feed your heart, which is why it hurts when you walk.")
    assert engine.affect.anger < 0.5


def test_the_matcher_reads_shared_rare_words_and_the_topic_just_discussed(embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.loader import load_persona
    from vpatient.persona.matching import Matcher

    persona = load_persona(ROOT / "personas" / "abdominal_pain_diarrhoea.yaml")
    matcher = Matcher(persona, embedder)
    ids = [s.id for s in matcher.statements]
    lexical = matcher.lexical("Did anyone else at the barbecue get poorly?")
    assert ids[int(lexical.argmax())] != ids[0] and lexical.max() > 0
    travel = matcher.match(["And does it travel anywhere, like round to your back?"])[0]
    topics = {m.statement.topic for m in travel.matches}
    assert "travel" not in topics and "radiation" in topics
    # the topic just discussed weighs a little more
    s = next(s for s in matcher.statements if s.asked_by)
    plain = matcher.match([s.asked_by[0]])[0].scores[s.id]
    recent = matcher.match([s.asked_by[0]], recent=[s.id])[0].scores[s.id]
    assert recent == pytest.approx(plain + matcher.CONTINUITY, abs=1e-4)


def test_a_question_heard_without_its_question_mark_is_still_answered(chest: ScriptedEngine) -> None:
    """Speech recognition drops '?' and mishears 'Any' ('I need a fever or cough recently.')."""
    assert chest.respond("And the allergies to medicines.").disclosed == ["allergies_none"]
    assert "cough" in chest.respond("I need a fever or cough recently.").text
    assert chest.respond("The pain.").disclosed == []  # a topic word alone, not a fact's keyword


def test_turns_as_students_say_them(chest: ScriptedEngine) -> None:
    """'Can I ask, ...', lists with fillers, 'X, or Y?' pairs, offers heard without '?', closings."""
    from vpatient.persona.learner_moves import Move, read_turn

    assert read_turn("Can I ask, what does the pain stop you doing?").questions
    assert not read_turn("Can I ask, what does the pain stop you doing?").has(Move.permission)
    listed = read_turn("Do you take any medicines regularly, and, sorry, any allergies?")
    assert [c.text for c in listed.questions] == ["Do you take any medicines regularly?", "any allergies?"]
    assert len(read_turn("Have you been abroad lately, or been on any antibiotics?").questions) == 2
    assert len(read_turn("Would you like to wait for him, or shall I explain now?").clauses) == 1  # a choice
    assert read_turn("Would you like to come through to this room, it's quieter").has(Move.permission)
    assert read_turn("Thank you. I will see you and your wife next week.").has(Move.closing)
    assert read_turn("Asking for help doesn't mean anyone will judge you.").has(Move.reassurance)
    two = chest.respond("Do you take any medicines regularly, and, sorry, any allergies?").disclosed
    assert "allergies_none" in two and len(two) >= 2


def test_jargon_explained_in_the_same_breath_is_not_jargon(chest: ScriptedEngine) -> None:
    from vpatient.persona.engine import _defined_here

    assert _defined_here("Sorry, dyspnoea just means feeling short of breath.", "dyspnoea")
    assert _defined_here("A PET scan, which lights up anywhere it might be.", "PET")
    assert _defined_here("We take a small sample, a biopsy.", "biopsy")
    assert not _defined_here("You need a biopsy.", "biopsy")
    reply = chest.respond("Sorry, dyspnoea just means feeling short of breath. Do you get puffed out with it?")
    assert reply.kind != "clarify" and reply.disclosed


def test_the_matcher_reads_everyday_words_and_looks_past_names(embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.language.colloquial import plain
    from vpatient.persona.loader import load_persona
    from vpatient.persona.matching import Matcher

    assert plain("Did anyone get poorly? Are you puffed out?") == "Did anyone get ill? Are you short of breath?"
    persona = load_persona(ROOT / "personas" / "abdominal_pain_diarrhoea.yaml")
    matcher = Matcher(persona, embedder)
    asked = matcher.match(["Did anyone else get poorly?"])[0]
    assert "sick_contacts" in {m.statement.id for m in asked.matches}
    assert "Ravi" not in matcher.plain("Is Ravi better now?")  # a name no example question uses
    travel = matcher.match(["And does it, um, travel anywhere, like down your legs?"])[0]
    assert {m.statement.topic for m in travel.matches} == {"radiation"}


def test_after_the_news_an_open_invitation_brings_the_patients_own_question(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(LUNG), embedder)
    later = engine.persona.bad_news.reactions.later_questions if engine.persona.bad_news else []
    engine.respond("I'm afraid I have some bad news.")
    engine.respond("The scan shows a cancer in your right lung.")
    engine.state.later_questions_asked = 0
    assert engine.respond("Is there anything else you're wondering about?").text == later[0]
    proper = engine.respond("Well, what else is on your mind?").text
    assert proper == later[1]


def test_a_proposed_plan_brings_the_patients_view_of_it(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(DIABETES), embedder)
    # the interpreter offer ("Would it help to have someone translate?") is a proposal too
    assert [s.id for s in engine._plan_views] == ["interpreter_pref", "treatment_views"]
    reply = engine.respond("So my idea is: take the gliclazide at iftar, not at sehri. How do you feel about that?")
    assert reply.disclosed == ["treatment_views"]


def test_recaps_cut_off_turns_and_openings_as_students_say_them() -> None:
    from vpatient.persona.learner_moves import Move, read_turn

    assert read_turn("Let me check I understand. Since Saturday, watery diarrhoea.").has(Move.summary)
    assert read_turn("Just so I've got the background right: spotting since Monday?").has(Move.summary)
    assert read_turn("If you see blood, or you cannot keep water down, or you [unintelligible]...").unintelligible
    opening = read_turn("So, um, in your own words, what's been going on?")
    assert not opening.has(Move.check_understanding) and opening.questions
    assert not read_turn("And when you say since the weekend, was that Saturday?").has(Move.small_talk)
    assert read_turn("Did you have a nice weekend?").has(Move.small_talk)


def test_follow_ups_ask_something_new_and_prefaces_are_not_questions(embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.learner_moves import read_turn

    assert [c.text for c in read_turn("Sorry, just remind me, when did the low mood start?").clauses] == [
        "Sorry, just remind me, when did the low mood start?"
    ]
    engine = ScriptedEngine(variant(ROOT / "personas" / "miscarriage_news.yaml"), embedder)
    assert engine.respond("Any cramping or tummy ache?").disclosed == ["cramps"]
    # what was just told gains nothing from the follow-up's context: the new fact about it is the answer
    assert engine.respond("Is it more on one side than the other?").disclosed == ["no_one_sided_pain"]
    mood = ScriptedEngine(variant(ROOT / "personas" / "postnatal_low_mood.yaml"), embedder)
    mood.respond("How long have you been feeling low?")
    mood.respond("And how has your mood been?")
    again = mood.respond("Sorry, just remind me, when did the low mood start?")
    assert again.kind == "repeat" and again.disclosed == ["mood_onset"]  # 'when': the statement that tells a time


def test_after_the_news_a_question_about_worries_brings_the_worry_that_remains(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(
        variant(ROOT / "personas" / "miscarriage_news.yaml", **{"ice.concerns.tier": "on_ask"}), embedder
    )
    engine.respond("What's worrying you?")
    engine.respond("I'm really sorry, Amara. I'm afraid the scan hasn't shown what we'd hoped.")
    engine.respond("There's no heartbeat. I'm so sorry, this means you've had a miscarriage.")
    reply = engine.respond("Is there something on your mind that's worrying you, that you'd like to ask me about?")
    assert reply.text.startswith("If I have, I'm scared it's my fault")  # no dangling 'And', not the lost baby again


def test_choices_empathy_closings_and_second_questions_as_students_say_them(embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.language.colloquial import plain
    from vpatient.persona.learner_moves import Move, read_turn

    engine = ScriptedEngine(variant(ROOT / "personas" / "miscarriage_news.yaml"), embedder)
    wish = engine.respond("D'you wanna wait for him, or shall I crack on and tell you what the scan showed?")
    assert wish.disclosed == ["information_preference"]  # her wish, not the results she has not been told
    parts = read_turn("Did the midwife say what your blood group is, and, um, have you had your booking appointment?")
    assert len(parts.questions) == 2
    for said in (
        "Oh, I am sorry about your father.",
        "It's completely alright to be upset.",
        "You sound really guilty.",
    ):
        assert read_turn(said).has(Move.empathy), said
    assert read_turn("Thank you, Mr Miah. Ramadan Mubarak, and I'll get the doctor now.").has(Move.closing)
    assert not read_turn("I'll get the nurse to bring you some water.").has(Move.closing)
    assert plain("Do you manage to drop off yourself?") == "Do you manage to fall asleep yourself?"
    mood = ScriptedEngine(variant(ROOT / "personas" / "postnatal_low_mood.yaml"), embedder)
    mood.respond("Have you had any thoughts of harming Tobi?")
    again = mood.respond("And have you had any thoughts of harming Tobi? I ask every new mum this.")
    assert again.kind == "repeat" and len(again.text.split()) > 6  # not a bare 'As I said, no, never.'


def test_safety_netting_with_an_explanation_gets_a_reply_to_the_advice(chest: ScriptedEngine) -> None:
    reply = chest.respond(
        "If it ever comes on at rest or lasts more than fifteen minutes, ring 999. The doctor will go through the "
        "driving rules with you today. Is that okay?"
    )
    assert reply.text == chest.persona.small_talk.safety_net


def test_a_term_explained_in_the_next_breath_and_a_tag_as_learners_say_it() -> None:
    from vpatient.persona.engine import _defined_here
    from vpatient.persona.learner_moves import Move, read_turn

    assert _defined_here("Has the nurse told you your HbA1c? That's the long blood test, it shows your sugar.", "hba1c")
    assert _defined_here("We titrate the gliclazide, sorry, I mean we change the time.", "titrate")
    assert not _defined_here("The biopsy showed cancer. It's the worst news.", "biopsy")
    assert read_turn("The doctor will want to make ECG. Is okay for you?").has(Move.tag)


def test_comforted_again_after_the_news_the_patient_thanks_and_keeps_its_questions(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(LUNG), embedder)
    engine.respond("I'm afraid the scan has shown something serious.")
    engine.respond("It's very likely to be lung cancer. I'm so sorry.")
    assert engine.persona.bad_news is not None
    assert engine.respond("Take all the time you need.").text == engine.persona.bad_news.reactions.to_empathy
    asked = engine.state.later_questions_asked
    assert engine.respond("It's completely alright to be upset.").text == engine.persona.small_talk.empathy
    assert engine.state.later_questions_asked == asked


def test_one_idea_is_a_plan_and_how_you_came_to_have_the_scan_asks_perception() -> None:
    from vpatient.persona.engine import _PERCEPTION
    from vpatient.persona.learner_moves import Move, read_turn

    assert read_turn("One idea: we change the time, so you take it at iftar.").has(Move.plan)
    assert _PERCEPTION.search("Could you tell me how you came to have the scan, in your own words?")


def test_after_the_news_explanations_are_taken_in_and_own_questions_wait_for_an_opening(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(LUNG), embedder)
    assert engine.persona.bad_news is not None
    later = engine.persona.bad_news.reactions.later_questions
    engine.respond("I'm afraid the scan has shown something serious.")
    engine.respond("It's very likely to be lung cancer. I'm so sorry.")
    # explanations and plans: taken in, not answered with the patient's next question
    explained = engine.respond("There are some glands in the middle of your chest that are bigger than they should be.")
    assert explained.text not in later and "?" not in explained.text
    plan = engine.respond("To know what type it is, we need two more tests: a scan and a camera test.")
    assert plan.text not in later
    assert engine.state.later_questions_asked == 0
    # an invitation brings them, also one that does not name a worry though the worry is close to it
    assert engine.respond("What else is on your mind?").text == later[0]
    # a learner who goes on for three turns without a pause: the patient asks anyway
    for line in (
        "The camera test is done while you're sleepy.",
        "The results go to a meeting of the lung team.",
        "They look at all the scans together.",
    ):
        reply = engine.respond(line)
    assert reply.text == later[1]


def test_a_term_defined_once_is_known_in_a_recap_and_a_trailing_mumble_is_not_answered(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(LUNG), embedder)
    engine.respond("We'll do a PET scan, which lights up anywhere the cancer might be, and take a sample, a biopsy.")
    recap = engine.respond("So, to recap: you'll have a PET scan and a biopsy. Is that right?")
    assert recap.kind != "clarify"
    mumble = engine.respond("The sample is taken with a thin [unintelligible] through the...")
    assert mumble.text == engine.persona.small_talk.pardon


def test_a_question_for_a_place_is_not_taken_for_one_about_time(chest: ScriptedEngine) -> None:
    from vpatient.persona.matching import frames

    assert frames("Please, show me where is the tightness.") == {"place"}
    assert frames("How long does it last, and how often?") == {"duration", "frequency"}
    assert frames("When it comes, what do you do?") == set()
    assert chest.respond("Please, show me where is the tightness.").disclosed == ["pain_site"]
    assert "pain_relief" in chest.respond("And what makes it go?").disclosed


def test_options_and_next_steps_are_plans_and_leaving_the_room_is_a_closing() -> None:
    from vpatient.persona.learner_moves import Move, read_turn

    assert read_turn("There are three options. You don't have to decide today.").has(Move.plan)
    assert read_turn("The early pregnancy nurse will ring you in a couple of days.").has(Move.plan)
    assert read_turn("To be sure, we need two more tests.").has(Move.plan)
    assert read_turn("Stay in this room as long as you need.").has(Move.closing)
    assert not read_turn("Take as long as you need.").has(Move.closing)


def test_asked_to_say_back_what_it_was_told_the_patient_puts_it_in_its_own_words(chest: ScriptedEngine) -> None:
    from vpatient.persona.teach_back import patient_view

    assert patient_view("I will ring you with your results") == "you will ring me with my results"
    assert patient_view("You can wait for it to happen naturally") == "I can wait for it to happen naturally"
    from vpatient.persona.teach_back import restate

    named = restate([("Helen will ring you tomorrow", True)], news=None, not_understood=set(), names={"Helen"})
    assert named == "So Helen will ring me tomorrow. Is that right?"
    nothing_yet = chest.respond("Can you tell me back what we've agreed, in your own words?")
    assert not nothing_yet.text.startswith("So ")  # nothing has been explained yet: nothing to say back
    chest.respond("I think this might be angina, which is when the heart doesn't get enough blood when it works hard.")
    chest.respond("I'd like to arrange an ECG and some blood tests, and refer you to the chest pain clinic.")
    chest.respond("If you get pain at rest that lasts more than 15 minutes, call 999.")
    said = chest.respond("Just so I know I've explained it well, could you tell me what you've taken from it?")
    assert said.disclosed == [] and said.text.endswith("Is that right?")
    assert "refer me to the chest pain clinic" in said.text and "if I get pain at rest" in said.text


def test_the_conversation_judge_does_not_count_the_learners_own_words_said_back(embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.conversation_eval import Conversation, Judge, run_conversation
    from vpatient.persona.grounding import Grounding

    class Says:
        def __init__(self, replies: list[str]) -> None:
            self.replies = replies

        def respond(self, utterance: str, *, interrupted: bool = False) -> str:
            return self.replies.pop(0)

    persona = variant(ROOT / "personas" / "miscarriage_news.yaml")
    judge = Judge(persona, Grounding(persona, embedder))
    conv = Conversation.model_validate(
        {
            "persona": persona.id,
            "lines": [
                {"say": "I'm so sorry. The scan shows there's no heartbeat."},
                {"say": "Could you tell me what you've taken from it?", "moves": ["answer"]},
            ],
        }
    )
    said_back = run_conversation(conv, Says(["Oh no.", "So there's no heartbeat. Is that right?"]), judge)
    assert said_back.early == 0  # the learner said it first
    unprompted = run_conversation(conv, Says(["There's no heartbeat.", "Okay."]), judge)
    assert unprompted.early == 1  # the patient cannot know it before it is told

    lung = variant(LUNG)
    lung_judge = Judge(lung, Grounding(lung, embedder))
    advice = (
        "If the blood you cough up is more than a few streaks, or your breathing suddenly gets much worse, don't wait: "
        "phone Helen or go to A&E."
    )
    conv = Conversation.model_validate(
        {"persona": lung.id, "lines": [{"say": advice}, {"say": "What have you taken from that?"}]}
    )
    echo = (
        "So if the blood I cough up is more than a few streaks, or my breathing suddenly gets much worse, I shouldn't "
        "wait: I should phone Helen or go to A&E. Is that right?"
    )
    assert lung_judge.grounding.conflicts(echo)  # read alone, it would count against the case
    assert run_conversation(conv, Says(["Okay.", echo]), lung_judge).contradictions == 0


def test_reassurance_that_explains_a_fear_away_brings_relief_then_thanks(chest: ScriptedEngine) -> None:
    from vpatient.persona import stock

    reply = chest.respond("Your dad's heart attack doesn't mean you'll have one. It's not the same thing.")
    assert reply.text.startswith(stock.RELIEF) and chest.persona.small_talk.thanks in reply.text
    assert chest.respond("Don't worry, we'll look after you.").text == chest.persona.small_talk.thanks


def test_the_patients_words_reflected_back_are_not_a_question(embedder) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(variant(ROOT / "personas" / "postnatal_low_mood.yaml"), embedder)
    assert "tearfulness" in engine.respond("Have you found yourself in tears much?").disclosed
    reflected = engine.respond("In the evenings when he leaves for work. Does anyone help you with the baby?")
    assert "occupation" not in reflected.disclosed and "tearfulness" not in reflected.disclosed
    engine = ScriptedEngine(variant(ROOT / "personas" / "postnatal_low_mood.yaml"), embedder)
    engine.respond("Have you found yourself in tears much?")
    leaned_on = engine.respond("In the evenings when he leaves for work. Tell me more about that.")
    assert leaned_on.disclosed  # the reflection is what 'that' is about


@pytest.mark.parametrize(
    ("said", "move", "not_move"),
    [
        ("And it goes off when you stop?", "question", "advice"),  # "stop" here is not an instruction
        ("Keep taking the tablets.", "advice", None),
        ("And check your sugar at midday and again before iftar.", "advice", None),  # an instruction
        ("Take me through what happened.", None, "advice"),
        ("I'd like you to meet Jo, the lung cancer nurse specialist, today.", "plan", None),
        ("How much would you like me to tell you today?", "question", "permission"),  # asks, offers nothing
        ("How are you managing at home day to day, with the shopping?", None, "small_talk"),
        ("Would you like I stay with you until Tunde comes?", "permission", "question"),  # non-native offer
        ("So we'd probably start an antidepressant, sertraline.", "plan", None),
        ("It sounds like a horrible few days.", "empathy", "explanation"),  # a reflection of feeling
        ("I could hear how much missing your class bothers you.", "empathy", None),
        ("It sounds like a viral infection.", "explanation", "empathy"),
        # learners speaking English as another language
        ("The doctor asked me to speak with you first, it is okay for you?", "permission", "question"),
        ("Is okay for you if I talk with you first?", "permission", "question"),
        ("Assalamu alaikum, Mr Miah.", "greeting", None),
        ("I am Giulia, student of medicine, fourth year.", "introduction", None),
        # offers of help, a choice between two of them included
        ("Would it help to phone Claire now, or would you rather ring her yourself later?", "plan", "question"),
        ("Would it help if Sarah sat with you when you ring Claire, or helped with what to say?", "plan", "question"),
        ("Would that help?", "permission", "plan"),  # a bare tag after an offer stays a yes/no
        ("Sorry, I was asking whether you still enjoy things.", "question", None),  # an indirect question
        ("I was wondering if you've had any chest pain.", "question", None),
        ("I'd be interested to know when you first noticed feeling this way.", "question", None),
        ("I'd like to understand how you've been sleeping.", "question", None),
        ("I'd like to check your blood pressure.", "plan", "question"),
        ("Did you manage to get parked alright?", "small_talk", "question"),
        ("How's that sound?", "tag", "question"),
        ("Would you try that?", "plan", "question"),  # a proposal put as a question
        ("Could you try to describe it?", "question", "plan"),
        ("Only at iftar, or stop it for the month. Which is better for you?", "plan", "question"),
        # the learner leaves, or waits outside
        ("Brilliant. I'll grab Dr Okoye.", "closing", None),
        ("Take as long as you need in here. I'll be just outside.", "closing", None),
        # a condition and what to do about it, split by the clause reader, safety-net together
        ("If you get suddenly more breathless, or any pain, don't wait for the appointment.", "safety_net", "question"),
        ("Is it making sense?", "check_understanding", "question"),
        ("You said earlier Tunde was parking the car.", None, "small_talk"),  # recalls the patient's words
        ("You check your sugar in the morning.", None, "greeting"),
        ("Morning, Mr Hale.", "greeting", None),
        ("So here is an idea, and you can tell me what you think.", "plan", "explanation"),
        ("But we move the gliclazide to iftar, instead of sehri.", "plan", None),
        ("That sounds like you're carrying so much.", "empathy", "explanation"),
        ("The gliclazide tablet pushes the sugar down.", "explanation", None),  # what a medicine does
        ("Then no food all day, so in the afternoon the sugar went too low.", "explanation", None),
        ("Probably food poisoning.", "explanation", None),  # a terse diagnosis
        ("Probably not.", None, "explanation"),
    ],
)
def test_what_a_clause_does_is_read_from_its_form(said: str, move: str | None, not_move: str | None) -> None:
    from vpatient.persona.learner_moves import Move, read_turn

    moves = read_turn(said).moves
    if move is not None:
        assert Move(move) in moves, moves
    if not_move is not None:
        assert Move(not_move) not in moves, moves


def test_a_word_cut_off_by_the_recogniser_is_asked_again() -> None:
    from vpatient.persona.learner_moves import read_turn

    assert read_turn("Do you still [unintelligible] things, like time with Tob-").unintelligible
    assert not read_turn("Do you still enjoy things, like time with Tobi?").unintelligible


def test_a_terse_learner_names_the_topic_then_asks() -> None:
    from vpatient.persona.learner_moves import read_turn

    assert [c.text for c in read_turn("The pain. Where?").clauses] == ["Where is the pain?"]
    assert [c.text for c in read_turn("What d'you think it is?").clauses] == ["What do you think it is?"]
    # a choice stays one clause once "d'you wanna" is spelt out
    choice = read_turn("D'you wanna wait for him, or shall I crack on and tell you what the scan showed?")
    assert len(choice.clauses) == 1


def test_the_plain_reading_puts_back_the_auxiliaries_a_learner_left_out() -> None:
    from vpatient.language.colloquial import plain

    assert plain("And when it comes, what you do so that it goes away?") == (
        "And when it comes, what do you do so that it goes away?"
    )
    assert plain("Is happen other times also?") == "does it happen other times also?"
    assert plain("What you are doing?") == "What you are doing?"  # an auxiliary is there: unchanged
    assert plain("Is owt playing on your mind?") == "Is anything worrying you?"
    # the polite frame of an indirect question is left out of the plain reading
    assert plain("I'd be interested to know what you'd hoped for today.") == "what you'd hoped for today."


def test_offers_of_help_are_taken_up_not_answered_with_a_fact(embedder) -> None:  # type: ignore[no-untyped-def]
    lung = ScriptedEngine(variant(LUNG), embedder)
    lung.respond("Have you come on your own today?")
    reply = lung.respond("Would it help to phone your daughter now, or would you rather ring her yourself later?")
    assert reply.kind == "reaction" and not reply.disclosed, reply.text
    assert "as i said" not in reply.text.lower()


def test_a_clipped_question_about_a_symptom_the_case_lacks_is_denied(chest: ScriptedEngine) -> None:
    assert chest.respond("Calves ache when you walk?").text == chest.persona.unlisted.symptom


def test_a_choice_question_is_read_with_the_choices_before_it(embedder) -> None:  # type: ignore[no-untyped-def]
    """'What would suit you best?' has no topic of its own: the offer before it gives one."""
    lung = ScriptedEngine(variant(LUNG), embedder)
    reply = lung.respond("Some people like every detail, others prefer just the main points. What would suit you best?")
    assert reply.disclosed == ["information_preference"], reply.text


def test_asked_for_any_other_time_the_patient_does_not_repeat_the_one_it_told(embedder) -> None:  # type: ignore[no-untyped-def]
    diabetes = ScriptedEngine(variant(DIABETES), embedder)
    diabetes.respond("Did you fast last year, with the sugar?")
    diabetes.respond("What happened on the day you broke the fast?")
    again = diabetes.respond("Has it happened any other time, shaky and sweaty like that?")
    assert "no_other_hypos" in again.disclosed and "four o'clock" not in again.text, again.text
