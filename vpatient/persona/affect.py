"""The patient's affect as state: it shifts with what the learner does and drives wording, voice and face.

Rapport rises only with moves that earn it (empathy and acknowledgement of feelings, invitations to talk,
plain explanations, an introduction); plain questions leave it where it is. Jargon, dismissal, bluntness
and interruptions cost it. A persona's `improves_with` / `worsens_with` phrases are read as these moves
(`read_sensitivities`): the effect of a move the patient is sensitive to is doubled.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from vpatient.persona.schema import Affect

# How much one learner move shifts each dimension (anxiety, rapport, distress, anger).
SHIFTS: dict[str, dict[str, float]] = {
    "introduction": {"rapport": 0.05},
    "empathy": {"rapport": 0.15, "anxiety": -0.05, "distress": -0.08, "anger": -0.08},
    "invitation_to_talk": {"rapport": 0.1, "anxiety": -0.03},
    "plain_explanation": {"rapport": 0.05, "anxiety": -0.05, "anger": -0.1},
    "reassurance": {"anxiety": -0.08, "rapport": 0.03},
    "interpreter": {"rapport": 0.1, "anxiety": -0.05},
    "respect": {"rapport": 0.1},
    "options": {"rapport": 0.05},
    "jargon": {"rapport": -0.05, "anxiety": 0.05},
    "interruption": {"rapport": -0.1, "anger": 0.1},
    "dismissive": {"rapport": -0.15, "anger": 0.25, "anxiety": 0.05},
    "blunt": {"rapport": -0.15, "anger": 0.3, "distress": 0.1},
    "warning_shot": {"anxiety": 0.15},
    "bad_news": {"distress": 0.8, "anxiety": 0.2},
}

# Words in an improves_with / worsens_with phrase -> the move it names.
_SENSITIVITY_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("jargon", re.compile(r"jargon|medical (?:words|terms|language)|technical|euphemism|without explanation", re.I)),
    (
        "dismissive",
        re.compile(
            r"dismiss|told (?:it is|it's|that it is) (?:nothing|just)|\bjust (?:tired|a bug|stress)|false "
            r"reassurance|not (?:being )?(?:believed|listened)|judg|joke|assumption|stereotyp|told flatly|orders|"
            r"only through|as if it was not|as if (?:it|she|he) (?:was|were)n'?t",
            re.I,
        ),
    ),
    ("blunt", re.compile(r"rush|blunt|hurr|fast speech|talking to the notes|straight to", re.I)),
    ("interruption", re.compile(r"interrupt|cut off|talked over", re.I)),
    (
        "empathy",
        re.compile(
            r"taken seriously|listen|believed|empath|kind|warm|not (?:her|his|their) fault|silence|time|private|"
            r"privacy|wait for|company",
            re.I,
        ),
    ),
    ("invitation_to_talk", re.compile(r"asked (?:what|about|how)|being asked|own (?:view|idea|thought)", re.I)),
    ("plain_explanation", re.compile(r"plain|simple|clear|explain|slow|matter-of-fact|without delay|straight", re.I)),
    ("reassurance", re.compile(r"reassur|common and treatable|not be left alone|not alone|support", re.I)),
    ("interpreter", re.compile(r"interpreter|translat|own language", re.I)),
    ("respect", re.compile(r"respect|faith|belief|prayer|religio|culture", re.I)),
    ("options", re.compile(r"options|choice|rather than orders|decid", re.I)),
]


def read_sensitivity(phrase: str) -> str | None:
    """The learner move an improves_with / worsens_with phrase names, or None when it names none."""
    for move, pattern in _SENSITIVITY_WORDS:
        if pattern.search(phrase):
            return move
    return None


@dataclass
class AffectState:
    anxiety: float
    rapport: float
    distress: float
    anger: float
    pain: float
    baseline: str = "neutral"
    sensitive: dict[str, float] = field(default_factory=dict)
    """Move -> multiplier from the persona's improves_with / worsens_with."""

    @classmethod
    def from_persona(cls, affect: Affect) -> AffectState:
        sensitive: dict[str, float] = {}
        for phrase in [*affect.improves_with, *affect.worsens_with]:
            move = read_sensitivity(phrase)
            if move:
                sensitive[move] = 2.0
        return cls(
            affect.anxiety,
            affect.rapport,
            affect.distress,
            affect.anger,
            affect.pain,
            affect.baseline_emotion,
            sensitive,
        )

    def apply(self, move: str) -> None:
        factor = self.sensitive.get(move, 1.0)
        for dim, delta in SHIFTS[move].items():
            value = getattr(self, dim) + delta * factor
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
        out: dict[str, float | str] = {k: v for k, v in asdict(self).items() if k not in ("baseline", "sensitive")}
        out["emotion"] = self.emotion
        return out
