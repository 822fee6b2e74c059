"""Benchmark: how long grading a 100-turn transcript takes once the models are loaded.

Each timed run grades a fresh transcript (numbers and names vary, so no utterance is already in the
embedder's memory): the figure includes embedding every learner clause, as in real use.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from vpatient.grading.grader import Grader
from vpatient.grading.rubric import load_rubric
from vpatient.transcript import Transcript, Turn

_LEARNER = [
    "Hello, I'm Dr Patel, one of the GPs. Can I confirm your name and date of birth?",
    "How can I help you today?",
    "I'm sorry to hear that. When did the pain first start, about {n} days ago?",
    "Whereabouts is the pain, and does it move anywhere else?",
    "On a scale of one to ten, how bad is it at its worst?",
    "Does anything make it better or worse, like eating or lying flat?",
    "Have you had any fever, vomiting or blood in your stools?",
    "Do you have any other medical problems, or have you had any operations?",
    "Are you taking any regular medication, or anything over the counter?",
    "Do you have any allergies to medicines?",
    "Does anything run in the family, like bowel problems or heart disease?",
    "Do you smoke, and how much alcohol do you drink in a week?",
    "What do you do for work, and who lives at home with you?",
    "Is there anything in particular you were worried this might be?",
    "So just to recap, you've had cramping pain for {n} days, worse after meals, with some loose stools.",
    "I think this is most likely a stomach bug, which means an infection of the gut that settles by itself.",
    "If the pain gets worse, or you notice blood, please come back or call 111 straight away.",
    "Does that make sense? Do you have any questions for me?",
]
_PATIENT = [
    "Hi doctor. It's {name}, born in {year}.",
    "I've had this cramping tummy pain for about {n} days and it's getting me down.",
    "It's mostly low down on the left and it comes and goes.",
    "Maybe a six out of ten, worse after I eat.",
    "No fever, but I was sick once on the first day.",
    "I had my appendix out when I was {n}, nothing else really.",
    "Just paracetamol now and then.",
    "No allergies that I know of.",
    "My dad had something with his bowel, I'm not sure what.",
    "I don't smoke. A few glasses of wine at the weekend.",
    "I'm a teacher and I live with my partner and two kids.",
    "I suppose I was worried it could be something serious.",
    "Yes, that's right.",
    "OK, that makes sense.",
    "No, I think that's everything, thank you.",
]


def synthetic_transcript(turns: int = 100, seed: int = 0) -> Transcript:
    """A plausible history-taking transcript of `turns` turns, with times; `seed` varies its wording."""
    out: list[Turn] = []
    clock = 0.0
    for i in range(turns):
        learner = i % 2 == 0
        pool = _LEARNER if learner else _PATIENT
        text = pool[(i // 2) % len(pool)].format(n=2 + (seed + i) % 9, name=f"Sam {seed}-{i}", year=1950 + seed % 50)
        text = f"{text} (ref {seed}.{i})" if i >= 2 * len(pool) else text
        length = 1.5 + len(text) / 15
        out.append(Turn("learner" if learner else "patient", text, start=round(clock, 2), end=round(clock + length, 2)))
        clock += length + 0.3
    return Transcript(id=f"bench-{seed}", turns=out)


def run(
    rubric: str = "history_taking", turns: int = 100, repeats: int = 5, threads: int | None = None
) -> dict[str, Any]:
    """Time grading; returns milliseconds (load = model and rubric examples).

    `threads` sets OMP_NUM_THREADS for the embedding model; it takes effect only if the model's runtime has
    not been imported yet in this process (as in `vpatient bench grader --threads 1`)."""
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    t0 = time.perf_counter()
    grader = Grader(load_rubric(rubric))
    grader.prepare()
    grader.embedder.encode(["warm up"])
    load_ms = (time.perf_counter() - t0) * 1000
    times: list[float] = []
    met = 0
    for k in range(repeats):
        transcript = synthetic_transcript(turns, seed=k + 1)
        t = time.perf_counter()
        grade = grader.grade(transcript)
        times.append((time.perf_counter() - t) * 1000)
        met = sum(i.met for i in grade.items)
    return {
        "rubric": rubric,
        "turns": turns,
        "repeats": repeats,
        "load_ms": round(load_ms, 1),
        "grade_ms": [round(x, 1) for x in times],
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "items_met": met,
        "under_one_second": max(times) < 1000,
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
    }
