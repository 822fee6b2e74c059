"""How item scores add up to section scores and a percent: one rule for the grader and for overrides.

A section earns its behaviour marks minus its faults, never below zero; the percent is the weighted mean of
the sections' percents (sections with no marks to earn are left out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SectionTotal:
    score: float
    top: float
    percent: float | None
    earned: float
    deducted: float


def section_total(scores: Sequence[float], tops: Sequence[float]) -> SectionTotal:
    """The total of one section from its items' scores (faults negative) and maximum marks."""
    earned = sum(s for s in scores if s > 0)
    deducted = -sum(s for s in scores if s < 0)
    score = max(0.0, earned - deducted)
    top = sum(tops)
    return SectionTotal(score, top, round(score / top * 100, 1) if top > 0 else None, earned, deducted)


def weighted_percent(totals: Sequence[tuple[float, float | None]]) -> float:
    """The weighted mean of (weight, percent) pairs, skipping sections without a percent."""
    weights = sum(w for w, p in totals if p is not None)
    return round(sum(w * p for w, p in totals if p is not None) / weights, 1) if weights else 0.0
