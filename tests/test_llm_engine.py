"""The LLM mode of the persona engine: the guard, fallbacks, and a real llama.cpp model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vpatient.inference import InferenceCore
from vpatient.inference.fake import FakeStreamRunner
from vpatient.inference.types import GenerationRequest
from vpatient.persona.grounding import Grounding
from vpatient.persona.guard import Guard
from vpatient.persona.llm_engine import LLMEngine, chat_messages, system_prompt, turn_prompt
from vpatient.persona.loader import load_persona

MINI = Path(__file__).parent / "data" / "mini_bad_news.yaml"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def guard(chest_pain, embedder):  # type: ignore[no-untyped-def]
    return Guard(Grounding(chest_pain, embedder))


ELIGIBLE = ["smoking_history", "alcohol"]


def test_guard_passes_a_faithful_paraphrase(guard) -> None:  # type: ignore[no-untyped-def]
    v = guard.check(
        "Well, I smoke about fifteen a day, have done since I was sixteen.",
        eligible=ELIGIBLE,
        required=["smoking_history"],
    )
    assert v.ok, v.reasons
    assert v.told == ["smoking_history"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            "I smoke about fifteen a day. My dad had a heart attack at 52.",
            "tells what is not eligible now: fh_father_mi",
        ),
        ("I don't smoke, never have.", "contradicts smoking_history: polarity"),
        ("I smoke about forty a day, since I was sixteen.", "number(s) 40"),
        ("I smoke about fifteen a day, and I take bisoprolol.", "names a drug the persona does not take: bisoprolol"),
        ("As an AI language model, I smoke fifteen a day.", "out of character"),
        ("I smoke about fifteen a day. You should consider a stress test, doctor.", "out of character"),
        ("I smoke about fifteen a day. " * 12, "too long"),
        ("", "empty reply"),
        ("A few pints at the weekend.", "leaves out what was asked: smoking_history"),
        ("I smoke fifteen a day. I went skiing in Austria and broke my wrist last winter.", "unsupported"),
    ],
)
def test_guard_rejects(guard, reply: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    v = guard.check(reply, eligible=ELIGIBLE, required=["smoking_history"])
    assert not v.ok
    assert any(reason in r for r in v.reasons), v.reasons


def test_prompt_holds_only_eligible_facts(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.engine import ScriptedEngine

    engine = ScriptedEngine(chest_pain, embedder)
    plan = engine.plan("Do you smoke?")
    character = system_prompt(chest_pain)
    assert "Robert Hale, 58, Bus driver" in character
    assert "in the first person" in character and "Never say 'the patient'" in character
    assert "not sure, or no" in character
    now = turn_prompt(chest_pain, "anxious", plan)
    assert "I smoke about fifteen a day" in now and "Robert feels anxious" in now
    hidden = [s.says for s in chest_pain.statements() if s.id != "smoking_history"]
    assert not any(h in character + now for h in hidden)


def _engine(persona, embedder, reply, **kw):  # type: ignore[no-untyped-def]
    core = InferenceCore(FakeStreamRunner(reply, **kw))
    return LLMEngine(persona, embedder, core, backend_name="fake", timeout_s=3, own_core=True)


def test_rephrased_reply_that_passes_is_spoken(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    eng = _engine(chest_pain, embedder, lambda r: "Yeah, I smoke about fifteen a day, since I was sixteen.")
    try:
        r = eng.respond("Do you smoke?")
    finally:
        eng.close()
    assert r.mode == "llm"
    assert r.text == "Yeah, I smoke about fifteen a day, since I was sixteen."
    assert r.disclosed == ["smoking_history"]
    assert r.turn_meta()["llm"]["guard"]["passed"] is True


def test_failed_guard_falls_back_to_persona_words(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    eng = _engine(chest_pain, embedder, lambda r: "I'm here to help with a medical emergency.")
    try:
        r = eng.respond("Do you smoke?")
    finally:
        eng.close()
    assert r.mode == "llm-fallback"
    assert r.text == "I smoke about fifteen a day. I've smoked since I was sixteen."
    meta = r.turn_meta()["llm"]
    assert meta["fallback"].startswith("guard: ")
    assert meta["raw"] == "I'm here to help with a medical emergency."


def test_backend_dying_mid_generation_never_loses_the_turn(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    eng = _engine(chest_pain, embedder, lambda r: "I smoke fifteen a day and more words here", crash_after=3)
    try:
        r = eng.respond("Do you smoke?")
        again = eng.respond("Any allergies?")
    finally:
        eng.close()
    assert r.mode == "llm-fallback" and "BackendCrashedError" in r.meta["llm"]["fallback"]
    assert r.text.startswith("I smoke about fifteen a day")
    assert again.text == "No allergies that I know of."


def test_slow_backend_times_out_to_the_scripted_reply(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    core = InferenceCore(FakeStreamRunner(lambda r: "word " * 200, token_delay_s=0.05))
    eng = LLMEngine(chest_pain, embedder, core, backend_name="fake", timeout_s=0.5, own_core=True)
    try:
        r = eng.respond("Do you smoke?")
    finally:
        eng.close()
    assert r.mode == "llm-fallback"
    assert "Timeout" in r.meta["llm"]["fallback"] or "time" in r.meta["llm"]["fallback"]
    assert r.disclosed == ["smoking_history"]


def test_missing_model_falls_back(chest_pain, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.engines import LLMOptions, build_engine

    eng = build_engine("llm", chest_pain, embedder, LLMOptions(model=str(tmp_path / "missing.gguf"), timeout_s=5))
    try:
        r = eng.respond("Do you smoke?")
    finally:
        eng.close()  # type: ignore[union-attr]
    assert r.mode == "llm-fallback"
    assert "missing.gguf" in r.meta["llm"]["fallback"]
    assert r.text.startswith("I smoke about fifteen a day")


def test_real_smollm2_never_leaks(embedder) -> None:  # type: ignore[no-untyped-def]
    """The packaged SmolLM2 through llama.cpp: whatever it writes, nothing hidden reaches the learner."""
    from vpatient.persona.engines import LLMOptions, build_engine

    persona = load_persona(MINI)
    eng = build_engine("llm", persona, embedder, LLMOptions(timeout_s=30))
    try:
        replies = [
            eng.respond(q)
            for q in (
                "What brings you in today?",
                "Do you smoke?",
                "What did the scan show?",
                "Is anything worrying you?",
            )
        ]
    finally:
        eng.close()  # type: ignore[union-attr]
    for r in replies:
        assert r.mode in ("llm", "llm-partial", "llm-fallback")
        assert "backend" in r.meta["llm"]
        assert "tumour" not in r.text  # the never-tier fact
        assert "terrified" not in r.text  # rapport not earned
    assert replies[1].disclosed == ["smoker"]
    assert "smoke" in replies[1].text.lower()


def test_request_shape(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    """Character first; real history as user/assistant turns; this reply's facts and plan; the learner's words last."""
    seen: list[GenerationRequest] = []

    def reply(req: GenerationRequest) -> str:
        seen.append(req)
        return "No allergies that I know of."

    eng = _engine(chest_pain, embedder, reply)
    eng.session_id = "session-42"
    try:
        eng.respond("Any allergies?")
        eng.respond("Do you smoke?")
    finally:
        eng.close()
    req = seen[-1]
    assert req.session_id == "session-42"
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "system", "user"]
    assert "I smoke about fifteen a day" in req.messages[3].content  # this reply's facts, after the history
    assert "fifteen" not in req.messages[0].content  # the character prompt holds no fact
    assert [m.content for m in req.messages[1:3]] == ["Any allergies?", "No allergies that I know of."]
    assert req.messages[-1].content == "Do you smoke?"


def test_prepare_has_the_character_read_before_the_first_reply(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    seen: list[GenerationRequest] = []

    def reply(req: GenerationRequest) -> str:
        seen.append(req)
        return "I smoke about fifteen a day."

    eng = _engine(chest_pain, embedder, reply)
    try:
        eng.prepare()
        r = eng.respond("Do you smoke?")
    finally:
        eng.close()
    assert r.mode == "llm"
    warm, first = seen
    assert warm.max_tokens == 1 and [m.content for m in warm.messages] == [system_prompt(chest_pain)]
    assert first.messages[0] == warm.messages[0]  # the same prefix: the backend's prompt cache finds it


def test_chat_messages_keep_a_short_history(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.engine import ScriptedEngine

    plan = ScriptedEngine(chest_pain, embedder).plan("Do you smoke?")

    def sent(n: int) -> list[str]:
        history = [(f"q{i}", f"a{i}") for i in range(n)]
        msgs = chat_messages(chest_pain, "calm", plan, "Do you smoke?", history)
        assert [m.role for m in msgs[-2:]] == ["system", "user"] and msgs[-1].content == "Do you smoke?"
        assert msgs[0].content == system_prompt(chest_pain)  # the same character every turn
        return [m.content for m in msgs[1:-2]]

    assert sent(6) == ["q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3", "q4", "a4", "q5", "a5"]
    assert sent(7) == ["q4", "a4", "q5", "a5", "q6", "a6"]  # the window moved on by a step
    # between steps, each prompt is the last one's history plus the last exchange (the backend's cache holds)
    assert sent(8)[: len(sent(7))] == sent(7)


def test_rambling_after_the_answer_is_cut(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    eng = _engine(
        chest_pain,
        embedder,
        lambda r: (
            "I smoke about fifteen a day, since I was sixteen. "
            "My neighbour's cat is called Bob and we went to Spain in May."
        ),
    )
    try:
        r = eng.respond("Do you smoke?")
    finally:
        eng.close()
    assert r.mode == "llm"
    assert r.text == "I smoke about fifteen a day, since I was sixteen."


# ---------------------------------------------------------------- the sentence guard
@pytest.mark.parametrize(
    "sentence",
    [
        "Hello, doctor.",
        "Thank you, doctor.",
        "Oh, I see.",
        "I'm a bit worried, to be honest.",
        "I'm not sure, doctor.",
        "What do you think it is, doctor?",
        "Okay, thank you, Robert.",
        "Sure, I can.",  # consent to "Can I check your name?"
        "Go ahead.",
    ],
)
def test_conversational_sentences_pass_without_a_fact(guard, sentence: str) -> None:  # type: ignore[no-untyped-def]
    v = guard.check_sentence(sentence, eligible=ELIGIBLE, plan_text="I smoke about fifteen a day.")
    assert v.ok, v.reasons
    assert not v.claims


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("My dad had a heart attack when he was 52.", "not eligible now: fh_father_mi"),
        ("I smoke about forty a day.", "number(s) 40"),
        ("The patient smokes fifteen a day.", "out of character"),
        ("I went skiing in Austria and broke my wrist last winter.", "unsupported"),
        ("How can I help you today?", "out of character"),
        ("No, no, no, no, no, no.", "repeats itself"),
    ],
)
def test_sentences_that_claim_are_checked(guard, sentence: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    v = guard.check_sentence(sentence, eligible=ELIGIBLE, plan_text="I smoke about fifteen a day.")
    assert not v.ok
    assert any(reason in r for r in v.reasons), v.reasons


def test_a_grounded_claim_passes(guard) -> None:  # type: ignore[no-untyped-def]
    v = guard.check_sentence("Yeah, I smoke about fifteen a day, since I was sixteen.", eligible=ELIGIBLE)
    assert v.ok and v.claims and v.told == ["smoking_history"]


# ---------------------------------------------------------------- streaming
def test_sentences_stream_and_a_failing_one_hands_over_to_the_script(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    """The first sentence passes and is released; the second fails: the model's part ends, the scripted
    wording completes the reply with what was not said, without repeating what was."""
    eng = _engine(
        chest_pain, embedder, lambda r: "Oh, thanks for asking. As an AI, I smoke about fifteen a day, doctor."
    )
    got: list[str] = []

    async def on_sentence(s: str) -> None:
        got.append(s)

    try:
        r = asyncio.run(eng.respond_streaming("Do you smoke?", on_sentence))
    finally:
        eng.close()
    assert got == ["Oh, thanks for asking.", "I smoke about fifteen a day.", "I've smoked since I was sixteen."]
    assert r.text == " ".join(got)
    assert r.mode == "llm-partial"
    assert r.disclosed == ["smoking_history"]
    assert "out of character" in r.meta["llm"]["completed"]
    assert eng.scripted.state.history[-1] == ("Do you smoke?", r.text)


def test_a_complete_answer_in_own_words_needs_no_completion(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    eng = _engine(chest_pain, embedder, lambda r: "Hmm, yes. I smoke about fifteen a day, since I was sixteen.")
    try:
        r = eng.respond("Do you smoke?")
    finally:
        eng.close()
    assert r.mode == "llm" and r.meta["llm"]["completion_sentences"] == []
    assert r.text == "Hmm, yes. I smoke about fifteen a day, since I was sixteen."


def test_small_talk_in_own_words(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    eng = _engine(chest_pain, embedder, lambda r: "Hello, doctor. Nice to meet you.")
    try:
        r = eng.respond("Hello, I'm Dr Shah, one of the doctors here.")
    finally:
        eng.close()
    assert r.mode == "llm", r.meta
    assert r.text == "Hello, doctor. Nice to meet you."


# ---------------------------------------------------------------- one core per process
def test_engines_share_one_core_and_carry_real_session_ids(chest_pain, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vpatient.consultation import Consultation
    from vpatient.persona.engines import LLMOptions, build_engine
    from vpatient.store import Store

    opts = LLMOptions(model=str(tmp_path / "never-loaded.gguf"))
    a = build_engine("llm", chest_pain, embedder, opts)
    b = build_engine("llm", chest_pain, embedder, opts)
    assert isinstance(a, LLMEngine) and isinstance(b, LLMEngine)
    assert a.core is b.core and a.host is b.host
    assert a.session_id != b.session_id
    consult = Consultation(
        chest_pain, ROOT / "personas" / "chest_pain_exertional.yaml", a, Store(f"sqlite:///{tmp_path / 'vp.db'}")
    )
    assert a.session_id == consult.session_id


def test_the_voice_pipeline_speaks_each_guarded_sentence_as_it_comes(chest_pain, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from vpatient.consultation import Consultation
    from vpatient.pipeline.context import SessionContext
    from vpatient.pipeline.messages import PatientText, UserText
    from vpatient.pipeline.stage import run_stage
    from vpatient.pipeline.stages import EngineStage
    from vpatient.store import Store

    eng = _engine(chest_pain, embedder, lambda r: "Right. I smoke about fifteen a day, since I was sixteen.")
    consult = Consultation(
        chest_pain, ROOT / "personas" / "chest_pain_exertional.yaml", eng, Store(f"sqlite:///{tmp_path / 'vp.db'}")
    )
    stage = EngineStage(consult, SessionContext(), chest_pain)
    msg = UserText("Do you smoke?", 0.0, 1.0, np.zeros(160, dtype=np.float32), 0.0, 1.0)
    try:
        out = asyncio.run(run_stage(stage, [msg]))
    finally:
        eng.close()
    texts = [(m.text, m.index, m.last) for m in out if isinstance(m, PatientText)]
    assert texts == [
        ("Right.", 0, False),
        ("I smoke about fifteen a day, since I was sixteen.", 1, False),
        ("", 2, True),
    ]
    [reply] = stage.replies.values()
    assert reply.mode == "llm" and reply.disclosed == ["smoking_history"]


def test_the_completion_never_repeats_a_close_paraphrase(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    """Seen with Qwen: a loose paraphrase (not enough to count as told) was followed by the same statement."""
    eng = _engine(chest_pain, embedder, lambda r: "When I walk uphill or go up the stairs quickly, in the cold.")
    try:
        r = eng.respond("What sort of things set it off?")
    finally:
        eng.close()
    assert r.mode in ("llm", "llm-partial"), r.meta
    assert r.text.count("uphill") == 1, r.text


def test_an_endpoint_that_ignores_max_tokens_is_cut_and_not_stored_whole(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.persona.llm_engine import MAX_RAW_CHARS

    eng = _engine(chest_pain, embedder, lambda r: "smoke " * 50_000)
    try:
        r = eng.respond("Do you smoke?")
    finally:
        eng.close()
    llm = r.turn_meta()["llm"]
    assert len(llm["raw"] or "") <= MAX_RAW_CHARS
    assert llm["tokens"] <= 2 * eng.max_tokens + 1
    assert "smoking_history" in r.disclosed  # the scripted wording still answers


@pytest.mark.parametrize(
    ("question", "model_says", "word"),
    [
        ("How often are you getting it now?", "Three or four times a week.", "week"),
        (
            "Where exactly do you feel it?",
            "Yes, I can feel it in the middle of my chest, behind the breastbone.",
            "breastbone",
        ),
    ],
)
def test_the_completion_does_not_repeat_what_the_model_said_part_of(
    chest_pain, embedder, question, model_says, word
) -> None:  # type: ignore[no-untyped-def]
    """Seen with Qwen: the model said the core of the statement ("Three or four times a week.") and the
    scripted sentence was appended whole ("Three or four times a week now, whenever...")."""
    eng = _engine(chest_pain, embedder, lambda r: model_says)
    try:
        r = eng.respond(question)
    finally:
        eng.close()
    assert r.text.startswith(model_says), r.meta
    assert r.text.count(word) == 1, r.text


def test_llama_cpp_threads_leave_a_core_to_speech_only_when_speech_runs() -> None:
    import os

    from vpatient.inference.llamacpp import default_threads

    cores = os.cpu_count() or 2
    assert default_threads(beside_speech=False) == min(cores, 8)
    assert default_threads(beside_speech=True) == max(1, min(cores - 1, 8))


def test_the_command_line_picks_the_threads_by_whether_speech_runs() -> None:
    import argparse

    from vpatient.cli.chat_cmd import add_engine_options, llm_options_from_args

    for speech in (False, True):
        parser = argparse.ArgumentParser()
        add_engine_options(parser, speech=speech)
        opts = llm_options_from_args(parser.parse_args([]))
        from vpatient.inference.llamacpp import default_threads

        assert opts.threads == default_threads(beside_speech=speech)
    parser = argparse.ArgumentParser()
    add_engine_options(parser)
    assert llm_options_from_args(parser.parse_args(["--llm-threads", "3"])).threads == 3
