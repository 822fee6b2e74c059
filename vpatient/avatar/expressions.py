"""Facial expressions from the persona's affect: one set of face parameters per emotion, blended in time."""

from __future__ import annotations

from dataclasses import dataclass, fields

EMOTIONS = ("neutral", "anxious", "in_pain", "sad", "angry", "relieved")


@dataclass(frozen=True)
class Expression:
    """Face parameters a renderer understands (all roughly -1..1; 0 is a relaxed face).

    brow_raise: both brows up (+) or down (-); brow_inner: inner ends up (+, worry/sadness) or pulled
    down and together (-, anger/pain); smile: mouth corners up (+) or down (-); eye_open: 1 normal,
    <1 narrowed, >1 widened; squint: lower lids up (pain); tears: 0-1; flush: reddening 0-1;
    mouth_tense: lips pressed/stretched (pain, anger); head_pitch: degrees, + looks down.
    """

    brow_raise: float = 0.0
    brow_inner: float = 0.0
    smile: float = 0.05
    eye_open: float = 1.0
    squint: float = 0.0
    tears: float = 0.0
    flush: float = 0.0
    mouth_tense: float = 0.0
    head_pitch: float = 0.0

    def blend(self, other: Expression, k: float) -> Expression:
        k = min(1.0, max(0.0, k))
        return Expression(
            **{f.name: getattr(self, f.name) * (1 - k) + getattr(other, f.name) * k for f in fields(self)}
        )


EXPRESSIONS: dict[str, Expression] = {
    "neutral": Expression(),
    "anxious": Expression(brow_raise=0.55, brow_inner=0.7, smile=-0.2, eye_open=1.25, mouth_tense=0.3),
    "in_pain": Expression(
        brow_raise=-0.3, brow_inner=-0.6, smile=-0.35, eye_open=0.55, squint=0.8, mouth_tense=0.9, flush=0.2
    ),
    "sad": Expression(brow_raise=0.1, brow_inner=0.95, smile=-0.7, eye_open=0.75, tears=1.0, head_pitch=6.0),
    "angry": Expression(brow_raise=-0.7, brow_inner=-1.0, smile=-0.45, eye_open=0.95, mouth_tense=0.7, flush=0.6),
    "relieved": Expression(brow_raise=0.25, brow_inner=0.1, smile=0.75, eye_open=0.9, head_pitch=-2.0),
}


def expression_for(emotion: str) -> Expression:
    """The expression for an emotion name; unknown names show neutral (a live session never raises)."""
    return EXPRESSIONS.get(emotion, EXPRESSIONS["neutral"])
