"""The patient's affect as state: it shifts with what the learner does and drives wording, voice and face."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from vpatient.persona.schema import Affect

# How much one learner move shifts each dimension (anxiety, rapport, distress, anger).
SHIFTS: dict[str, dict[str, float]] = {
    "introduction": {"rapport": 0.05},
    "open_question": {"rapport": 0.05},
    "empathy": {"rapport": 0.12, "anxiety": -0.05, "distress": -0.08, "anger": -0.05},
    "jargon": {"rapport": -0.05, "anxiety": 0.05},
    "interruption": {"rapport": -0.1, "anger": 0.1},
    "dismissive": {"rapport": -0.15, "anger": 0.2, "anxiety": 0.05},
    "warning_shot": {"anxiety": 0.15},
    "bad_news": {"distress": 0.8, "anxiety": 0.2},
}


@dataclass
class AffectState:
    anxiety: float
    rapport: float
    distress: float
    anger: float
    pain: float
    baseline: str = "neutral"

    @classmethod
    def from_persona(cls, affect: Affect) -> AffectState:
        return cls(affect.anxiety, affect.rapport, affect.distress, affect.anger, affect.pain, affect.baseline_emotion)

    def apply(self, move: str) -> None:
        for dim, delta in SHIFTS[move].items():
            value = getattr(self, dim) + delta
            setattr(self, dim, round(min(1.0, max(0.0, value)), 3))

    @property
    def emotion(self) -> str:
        """The expression a front end shows: neutral, anxious, in_pain, sad, angry or relieved."""
        if self.anger >= 0.5:
            return "angry"
        if self.distress >= 0.5:
            return "sad"
        if self.pain >= 0.5:
            return "in_pain"
        if self.anxiety >= 0.6:
            return "anxious"
        if self.baseline == "anxious" and self.anxiety < 0.3:
            return "relieved"
        return self.baseline if self.baseline in ("anxious", "sad", "in_pain", "angry") else "neutral"

    def snapshot(self) -> dict[str, float | str]:
        out: dict[str, float | str] = {k: v for k, v in asdict(self).items() if k != "baseline"}
        out["emotion"] = self.emotion
        return out
