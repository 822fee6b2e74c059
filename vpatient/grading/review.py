"""What the learner and the assessor should look at after a grade: the short feedback summary printed at
the end of a consultation, the turns to look at, and the learner turns whose speech recognition was
uncertain (so that a recognition error is not mistaken for a missed question).

A speech-recognised learner turn carries `confidence` (0-1, see vpatient.speech.stt) among its extra
fields; typed turns have none and are never flagged. A turn below the threshold is *uncertain*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vpatient.grading.grader import Grade, ItemGrade
from vpatient.grading.schema import Rubric
from vpatient.transcript import Transcript

UNCERTAIN_BELOW = 0.6
"""Default threshold: a learner turn recognised with a lower confidence is flagged. faster-whisper's
probabilities on clear speech are mostly above 0.75; garbled words ("anybody in your school" for "any blood
in your stool") pull a turn towards 0.5."""

CHECK_AUDIO = "recognition uncertain: check the audio before marking this item missed"

_LOOK_AT = (
    re.compile(r"Closest: turn (\d+)"),
    re.compile(r"Turn (\d+) looked like it"),
    re.compile(r"found at turn (\d+)"),
)


@dataclass(frozen=True)
class UncertainTurn:
    turn: int
    confidence: float
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"turn": self.turn, "confidence": self.confidence, "text": self.text}


def confidence(meta: dict[str, Any]) -> float | None:
    """A turn's recognition confidence, or None (typed, or not a usable number)."""
    value = meta.get("confidence")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if 0.0 <= value <= 1.0 else None


def uncertain_turns(transcript: Transcript, threshold: float = UNCERTAIN_BELOW) -> list[UncertainTurn]:
    """Learner turns recognised with a confidence below `threshold`, in order."""
    out = []
    for i, turn in transcript.learner_turns():
        c = confidence(turn.meta)
        if c is not None and c < threshold:
            out.append(UncertainTurn(i, round(c, 3), turn.text))
    return out


def look_at(item: ItemGrade) -> list[int]:
    """The turns an assessor should look at for this item: the evidence of a fault that happened, or, for a
    behaviour that was not met, the turns that came close (from the rationale)."""
    if item.met:
        return [e.turn for e in item.evidence] if item.kind == "fault" else []
    turns = [int(m) for pattern in _LOOK_AT for m in pattern.findall(item.rationale)]
    return list(dict.fromkeys(turns))


def uncertain_items(grade: Grade, uncertain: list[UncertainTurn]) -> dict[str, list[UncertainTurn]]:
    """Missed behaviour items whose closest turns were recognised with uncertainty: item id -> those turns."""
    by_turn = {u.turn: u for u in uncertain}
    out: dict[str, list[UncertainTurn]] = {}
    for item in grade.items:
        if item.kind == "fault" or item.met:
            continue
        hits = [by_turn[t] for t in look_at(item) if t in by_turn]
        if hits:
            out[item.id] = hits
    return out


def recognition_json(transcript: Transcript, grade: Grade, threshold: float = UNCERTAIN_BELOW) -> dict[str, Any]:
    """The recognition flags as stored beside the grade JSON (an extra field of the contract)."""
    uncertain = uncertain_turns(transcript, threshold)
    scored = [c for _, t in transcript.learner_turns() if (c := confidence(t.meta)) is not None]
    return {
        "threshold": threshold,
        "recognised_turns": len(scored),
        "uncertain_turns": [u.to_json() for u in uncertain],
        "uncertain_items": {k: [u.turn for u in v] for k, v in uncertain_items(grade, uncertain).items()},
    }


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def tip(item: ItemGrade, rubric: Rubric | None = None) -> str:
    """A one-line tip: the rubric item's feedback, else the first sentence of its definition."""
    if item.feedback.strip():
        return _one_line(item.feedback)
    if rubric is not None:
        for it in rubric.items():
            if it.id == item.id:
                return _one_line(re.split(r"(?<=[.!?])\s", it.description.strip(), maxsplit=1)[0])
    return ""


def _turns(turns: list[int]) -> str:
    return f"turn{'s' if len(turns) > 1 else ''} {', '.join(map(str, turns))}"


def feedback_summary(
    grade: Grade,
    transcript: Transcript,
    rubric: Rubric | None = None,
    *,
    threshold: float = UNCERTAIN_BELOW,
) -> str:
    """The short summary printed after a consultation: score, missed items with a tip, faults, the turns to
    look at, and the turns whose recognition was uncertain."""
    title = grade.rubric_title or grade.rubric
    verdict = "passed" if grade.passed else "not yet passed"
    lines = [
        f"Feedback ({title}): {grade.score:g}/{grade.max_score:g} marks, {grade.percent:g}% - {verdict} "
        f"(pass mark {grade.pass_mark:g}%)"
    ]
    lines += [f"  warning: {w}" for w in grade.warnings]
    uncertain = uncertain_turns(transcript, threshold)
    flagged = uncertain_items(grade, uncertain)
    missed = [i for i in grade.items if i.kind != "fault" and not i.met]
    faults = [i for i in grade.items if i.kind == "fault" and i.met]
    to_look: list[int] = []
    if missed:
        lines.append("Missed:")
    for item in missed:
        turns = look_at(item)
        to_look += turns
        where = f" [look at {_turns(turns)}]" if turns else ""
        hint = tip(item, rubric)
        lines.append(f"  - {item.title or item.id}{where}" + (f": {hint}" if hint else ""))
        if item.id in flagged:
            lines.append(f"      {_turns([u.turn for u in flagged[item.id]])}: {CHECK_AUDIO}")
    if faults:
        lines.append("Faults:")
    for item in faults:
        turns = look_at(item)
        to_look += turns
        hint = tip(item, rubric)
        lines.append(
            f"  - {item.title or item.id} ({_turns(turns) if turns else 'see the report'})"
            + (f": {hint}" if hint else "")
        )
    if not missed and not faults:
        lines.append("Every item met and no faults.")
    if to_look:
        lines.append(f"Turns to look at: {', '.join(map(str, sorted(set(to_look))))}")
    if uncertain:
        shown = ", ".join(f"{u.turn} ({u.confidence:.0%})" for u in uncertain)
        lines.append(f"Recognition uncertain in learner turns {shown}: check the audio before marking an item missed")
    return "\n".join(lines)
