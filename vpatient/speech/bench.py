"""`vpatient bench latency`: voice-to-voice latency through the whole loop, and recognition word error rate.

Latency: typical learner questions, synthesised in a learner voice (Debian flite, never the patient's
voice), are played in real time through the live pipeline (Silero VAD -> faster-whisper -> persona
engine -> TTS) with the embedded defaults; p50/p95 of every stage.
Recognition: clinical utterances (drug names, symptoms, numbers) in several flite voices (US, Scottish,
female, male), transcribed by the recogniser; word error rate after a light normalisation (case,
punctuation, numbers as words), greedy without context against the live settings (beam search, the
case's vocabulary in the prompt).
Hesitation: learner turns with pauses inside them (after "and", "um", a comma; 0.7-1.5 s), played in
real time: a turn cut in two is counted, with the end-of-turn wait of the turns that were not cut.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from vpatient.shipped import DEFAULT_PERSONA as PERSONA

LEARNER_QUESTIONS = [
    "Hello, I'm Doctor Patel, one of the GPs. Can I check your name and date of birth?",
    "What brings you in today?",
    "Can you tell me more about the chest pain?",
    "When did it first start?",
    "Where exactly do you feel it?",
    "Does the pain go anywhere else, like your arm or your jaw?",
    "What does the pain feel like?",
    "How long does it last?",
    "What makes it better?",
    "Does anything make it worse?",
    "Do you get short of breath?",
    "Have you had any palpitations?",
    "Have you felt sick or sweaty with it?",
    "Do you have any other medical problems?",
    "Are you taking any regular medicines?",
    "Do you have any allergies?",
    "Does anyone in your family have heart problems?",
    "Do you smoke?",
    "How much alcohol do you drink in a week?",
    "What do you do for work?",
    "What do you think might be causing it?",
    "Is there anything in particular that worries you?",
    "What were you hoping we could do today?",
    "Is there anything else you'd like to tell me?",
]

CLINICAL_UTTERANCES = [
    "I take ramipril five milligrams once a day.",
    "She was started on metformin five hundred milligrams twice daily.",
    "Are you still taking the atorvastatin at night?",
    "He uses a salbutamol inhaler when he gets wheezy.",
    "I was given amoxicillin for a chest infection last month.",
    "Do you take any aspirin or ibuprofen for the pain?",
    "My doctor put me on amlodipine for my blood pressure.",
    "I have been taking paracetamol every four hours.",
    "She takes levothyroxine for an underactive thyroid.",
    "He is on warfarin because of an irregular heartbeat.",
    "I inject insulin three times a day before meals.",
    "The omeprazole helps with the heartburn.",
    "Have you ever used a glyceryl trinitrate spray?",
    "They changed my bisoprolol to two point five milligrams.",
    "I stopped the sertraline about six weeks ago.",
    "The pain is in the middle of my chest.",
    "It feels tight, like a band around my chest.",
    "I get short of breath when I climb the stairs.",
    "The pain spreads down my left arm.",
    "I have had a headache for three days.",
    "I feel dizzy when I stand up quickly.",
    "I have been vomiting since yesterday morning.",
    "There was some blood in my stool.",
    "My ankles have been swollen for two weeks.",
    "I cough up green phlegm in the mornings.",
    "The rash started on my back and spread to my arms.",
    "I wake up at night soaked in sweat.",
    "I have lost about six kilograms without trying.",
    "My blood pressure was one hundred and sixty over ninety.",
    "My temperature was thirty eight point five this morning.",
    "I smoke about twenty cigarettes a day.",
    "I drink around fourteen units of alcohol a week.",
    "The pain started about three weeks ago.",
    "On a scale of one to ten it is about seven.",
    "I am fifty seven years old.",
    "My father had a heart attack when he was sixty.",
    "I have had diabetes for ten years.",
    "The pain lasts about five minutes and then settles.",
    "I get pins and needles in both feet.",
    "My periods have been heavy for six months.",
    "I feel tired all the time and low in mood.",
    "Have you noticed any change in your bowel habit?",
    "Do you have any pain when you pass urine?",
    "Have you had any fevers or night sweats?",
]

VOCABULARY = [
    "ramipril",
    "metformin",
    "atorvastatin",
    "salbutamol",
    "amoxicillin",
    "ibuprofen",
    "amlodipine",
    "paracetamol",
    "levothyroxine",
    "warfarin",
    "omeprazole",
    "glyceryl trinitrate",
    "bisoprolol",
    "sertraline",
]

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return str(n)


def normalise(text: str) -> list[str]:
    t = text.lower()
    t = re.sub(r"(\d)\s*mg\b", r"\1 milligrams", t)
    t = re.sub(r"(\d)\s*kg\b", r"\1 kilograms", t)
    t = re.sub(r"(\d)\s*%", r"\1 percent", t)
    t = re.sub(r"(\d+)\.(\d+)", lambda m: f"{m.group(1)} point {' '.join(m.group(2))}", t)
    t = re.sub(r"(\d+)/(\d+)", r"\1 over \2", t)
    t = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", t)
    t = re.sub(r"\d+", lambda m: number_words(int(m.group(0))), t)
    t = t.replace("dr.", "doctor").replace("mr.", "mister").replace("-", " ")
    t = re.sub(r"\band\b", " ", t)  # "one hundred and sixty" vs "one hundred sixty"
    return re.sub(r"[^a-z' ]", " ", t).replace("'", "").split()


def word_errors(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(pairs: list[tuple[str, str]]) -> float:
    errors = sum(word_errors(normalise(r), normalise(h)) for r, h in pairs)
    words = sum(len(normalise(r)) for r, _ in pairs)
    return round(100.0 * errors / max(words, 1), 2)


def bench_wer(stt_model: str | None = None, threads: int = 2, beam_size: int = 5) -> dict[str, Any]:
    """Word error rate of greedy decoding without context (`plain`) and of the live settings (`biased`:
    beam search, the vocabulary in the prompt, word probabilities)."""
    from vpatient.speech.audio import STT_RATE, resample
    from vpatient.speech.stt import WhisperSTT
    from vpatient.speech.tts import FliteTTS

    voices = [FliteTTS(v) for v in ("kal16", "slt", "awb", "rms", "kal")]
    plain = WhisperSTT(stt_model, threads=threads, beam_size=1, word_confidence=False)
    biased = WhisperSTT(stt_model, threads=threads, beam_size=beam_size, vocabulary=VOCABULARY)
    rows: list[dict[str, Any]] = []
    t_plain = t_biased = 0.0
    for i, ref in enumerate(CLINICAL_UTTERANCES):
        voice = voices[i % len(voices)]
        audio = resample(voice.synthesize(ref), voice.sample_rate, STT_RATE)
        t0 = time.perf_counter()
        hyp = plain.transcribe(audio)
        t1 = time.perf_counter()
        rec = biased.recognise(audio)
        t_plain += t1 - t0
        t_biased += time.perf_counter() - t1
        rows.append({"voice": voice.name, "ref": ref, "hyp": hyp, "hyp_biased": rec.text, "confidence": rec.confidence})
    by_voice = {v.name: wer([(r["ref"], r["hyp_biased"]) for r in rows if r["voice"] == v.name]) for v in voices}
    wrong = [r for r in rows if normalise(r["ref"]) != normalise(r["hyp_biased"])]
    right = [r for r in rows if normalise(r["ref"]) == normalise(r["hyp_biased"])]
    return {
        "utterances": len(rows),
        "wer_percent_plain": wer([(r["ref"], r["hyp"]) for r in rows]),
        "wer_percent": wer([(r["ref"], r["hyp_biased"]) for r in rows]),
        "wer_percent_by_voice": by_voice,
        "decode_ms_mean_plain": round(1000 * t_plain / len(rows), 1),
        "decode_ms_mean": round(1000 * t_biased / len(rows), 1),
        "mean_confidence_right": _mean([r["confidence"] for r in right]),
        "mean_confidence_wrong": _mean([r["confidence"] for r in wrong]),
        "model": biased.name,
        "beam_size": beam_size,
        "errors": wrong,
    }


def _learner_voice() -> Any:
    """The first learner voice that is not the patient's."""
    from vpatient.persona.loader import load_persona
    from vpatient.speech.learner import learner_voices
    from vpatient.speech.tts import build_tts

    return learner_voices(build_tts("auto", persona=load_persona(PERSONA)).name)[0]


def _mean(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return round(sum(vals) / len(vals), 3) if vals else None


HESITANT_TURNS: list[list[str | float]] = [
    ["I've had this pain in my chest and", 1.2, "it goes down my left arm."],
    ["The pain started, um,", 1.0, "about three days ago."],
    ["Can you tell me about the", 0.9, "medicines you take?"],
    ["So what I'd like to do is", 1.3, "examine your chest, if that's all right."],
    ["And have you noticed, er,", 1.5, "any swelling in your ankles?"],
    ["Do you have any", 0.8, "allergies to medicines?"],
    ["I was wondering whether", 1.0, "anyone in your family has had heart problems."],
    ["When you say it's tight, is it", 0.7, "like a band or more like a weight?"],
]


def bench_hesitation(
    *, end_of_turn: str = "smart", threads: int = 2, beam_size: int = 5, silence_ms: int = 600
) -> dict[str, Any]:
    """Learner turns with pauses inside, played in real time through the whole loop: how many are cut."""
    import numpy as np

    from vpatient.speech.audio import write_wav

    with tempfile.TemporaryDirectory(prefix="vpatient-bench-hesitation-") as tmp:
        voice = _learner_voice()
        files = []
        for i, parts in enumerate(HESITANT_TURNS, 1):
            pieces = []
            for part in parts:
                if isinstance(part, float):
                    pieces.append(np.zeros(int(part * voice.sample_rate), dtype=np.float32))
                else:
                    pieces.append(voice.synthesize(part))
            files.append(write_wav(Path(tmp) / f"hesitant_{i:02d}.wav", np.concatenate(pieces), voice.sample_rate))
        run = _run_session(
            files, tmp, end_of_turn=end_of_turn, threads=threads, beam_size=beam_size, silence_ms=silence_ms
        )
    learner = run["learner"]
    refs = [" ".join(str(p) for p in parts if isinstance(p, str)) for parts in HESITANT_TURNS]
    # A played turn was heard whole if one learner turn starts with its first word and ends with its last.
    whole = sum(
        any(normalise(h)[:1] == normalise(r)[:1] and normalise(h)[-1:] == normalise(r)[-1:] for h in learner)
        for r in refs
    )
    return {
        "turns_played": len(files),
        "learner_turns_heard": len(learner),
        "heard_whole": whole,
        "cut_off": len(refs) - whole,
        "endpoint_ms": run["summary"].get("endpoint_ms"),
        "voice_to_voice_ms": run["summary"].get("voice_to_voice_ms"),
        "held_turns": run["held_turns"],
        "complete_verdicts": f"{sum(p >= 0.5 for p in run['verdicts'])}/{len(run['verdicts'])}",
        "wer_percent": wer(list(zip(refs, learner, strict=False))) if len(learner) == len(refs) else None,
        "heard": learner,
    }


def _run_session(
    files: list[Path],
    tmp: str,
    *,
    end_of_turn: str,
    threads: int,
    beam_size: int,
    silence_ms: int,
    stt_model: str | None = None,
) -> dict[str, Any]:
    from vpatient.consultation import Consultation
    from vpatient.embeddings import default_embedder
    from vpatient.persona.engines import build_engine
    from vpatient.persona.loader import load_persona
    from vpatient.pipeline.session import VoiceSession
    from vpatient.speech.stt import WhisperSTT, persona_vocabulary
    from vpatient.speech.tts import build_tts
    from vpatient.speech.turn import SmartTurn
    from vpatient.speech.vad import EndpointConfig, SileroVAD
    from vpatient.store import Store

    persona = load_persona(PERSONA)
    tts = build_tts("auto", persona=persona)
    store = Store(f"sqlite:///{tmp}/bench.db")
    engine = build_engine("scripted", persona, default_embedder())
    consult = Consultation(persona, PERSONA, engine, store)
    stt = WhisperSTT(stt_model, threads=threads, beam_size=beam_size, vocabulary=persona_vocabulary(persona))
    turn = SmartTurn() if end_of_turn == "smart" else None
    session = VoiceSession(
        consult,
        persona,
        vad=SileroVAD(),
        stt=stt,
        tts=tts,
        out_dir=None,
        endpoint=EndpointConfig(silence_ms=silence_ms),
        turn=turn,
    )
    result = asyncio.run(session.run_files(files, realtime=True))
    consult.end()
    stt_stage: Any = session.stages[1]
    return {
        "summary": result.timings_json()["summary"],
        "turns": len(result.metrics),
        "learner": [t.text for t in consult.transcript.turns if t.role == "learner"],
        "confidence": [t.meta.get("confidence") for t in consult.transcript.turns if t.role == "learner"],
        "patient_voice": tts.name,
        "stt": stt.name,
        "end_of_turn": turn.name if turn else f"{silence_ms} ms of silence",
        "speculative_hits": stt_stage.speculative_hits,
        "held_turns": stt_stage.held_turns,
        "verdicts": session.vad_stage.verdicts,
        "errors": result.errors,
    }


def bench_latency(
    n: int = 24,
    stt_model: str | None = None,
    threads: int = 2,
    silence_ms: int = 600,
    *,
    end_of_turn: str = "smart",
    beam_size: int = 5,
) -> dict[str, Any]:
    from vpatient.speech.learner import synthesise_utterances

    voice = _learner_voice()
    questions = (LEARNER_QUESTIONS * (n // len(LEARNER_QUESTIONS) + 1))[:n]
    with tempfile.TemporaryDirectory(prefix="vpatient-bench-latency-") as tmp:
        files = synthesise_utterances(questions, Path(tmp) / "learner", voice)
        run = _run_session(
            files,
            tmp,
            end_of_turn=end_of_turn,
            threads=threads,
            beam_size=beam_size,
            silence_ms=silence_ms,
            stt_model=stt_model,
        )
    learner = run["learner"]
    verdicts = run.pop("verdicts")
    return {
        **run.pop("summary"),
        **{k: v for k, v in run.items() if k not in ("learner", "confidence")},
        "learner_voice": voice.name,
        "beam_size": beam_size,
        "silence_budget_ms": silence_ms,
        "complete_verdicts": f"{sum(p >= 0.5 for p in verdicts)}/{len(verdicts)}",
        "wer_percent_on_questions": wer(list(zip(questions, learner, strict=False))) if len(learner) == n else None,
        "mean_confidence": _mean(run["confidence"]),
    }
