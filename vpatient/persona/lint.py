"""Warnings for faculty about a persona that loads but will not behave as they expect.

Errors stop a persona from loading (loader.py); warnings do not: a statement that none of its own example
questions reach, a rapport-tier or reluctant statement without a cover story, an `improves_with` or
`worsens_with` phrase the engine cannot read as a learner move.
"""

from __future__ import annotations

from vpatient.embeddings import Embedder
from vpatient.persona.affect import read_sensitivity
from vpatient.persona.schema import Persona, Tier


def warnings(persona: Persona, embedder: Embedder | None = None) -> list[str]:
    """Warnings as 'field: message' lines; reachability is checked only when an embedder is given."""
    out: list[str] = []
    reluctant = set(persona.culture.reluctant_to_say)
    for s in persona.statements():
        if (s.tier == Tier.rapport or s.id in reluctant) and not s.cover_story:
            out.append(
                f"{s.id}: withheld until rapport is earned but has no cover_story; before that the patient says "
                f"only {persona.unlisted.unknown!r}. Add a cover_story."
            )
    for field in ("improves_with", "worsens_with"):
        for i, phrase in enumerate(getattr(persona.affect, field)):
            if read_sensitivity(phrase) is None:
                out.append(
                    f"affect.{field}[{i}]: {phrase!r} names no learner move the engine knows (jargon, dismissal, "
                    "bluntness, interruption, empathy, plain explanation, reassurance, interpreter, respect, "
                    "options, being asked); it has no effect"
                )
    if embedder is not None:
        out += _unreached(persona, embedder)
    return out


def _unreached(persona: Persona, embedder: Embedder) -> list[str]:
    from vpatient.persona.matching import Matcher

    matcher = Matcher(persona, embedder)
    out: list[str] = []
    for s in persona.statements():
        if s.tier in (Tier.volunteered, Tier.never) or not s.asked_by:
            continue
        reached = [
            q
            for q, cm in zip(s.asked_by, matcher.match(s.asked_by), strict=True)
            if any(m.statement.id == s.id for m in cm.matches)
        ]
        if not reached:
            out.append(
                f"{s.id}: none of its own asked_by questions reaches it (the matcher chooses other statements); "
                "add more varied example questions or keywords"
            )
    return out
