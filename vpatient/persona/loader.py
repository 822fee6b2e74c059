"""Load and check persona files: safe YAML, pydantic validation, cross-field checks, FILE:LINE errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vpatient.persona.schema import Persona, Statement, Tier
from vpatient.yamlfile import Loc, load_model


def _located_statements(p: Persona) -> list[tuple[Loc, Statement]]:
    out: list[tuple[Loc, Statement]] = [(("facts", i), f) for i, f in enumerate(p.facts)]
    out += [(("ice", k), getattr(p.ice, k)) for k in ("ideas", "concerns", "expectations")]
    if p.culture.explanatory_model:
        out.append((("culture", "explanatory_model"), p.culture.explanatory_model))
    out += [(("culture", "beliefs_and_practices", i), s) for i, s in enumerate(p.culture.beliefs_and_practices)]
    if p.culture.decision_makers:
        out.append((("culture", "decision_makers"), p.culture.decision_makers))
    return out


def check_persona(p: Persona) -> list[tuple[Loc, str]]:
    """Problems that span fields: duplicate ids, dangling references, unreachable statements."""
    problems: list[tuple[Loc, str]] = []
    located = _located_statements(p)
    first: dict[str, Loc] = {}
    for loc, s in located:
        if s.id in first:
            problems.append(
                ((*loc, "id"), f"duplicate id '{s.id}' (also at {'.'.join(map(str, first[s.id]))}); ids must be unique")
            )
        else:
            first[s.id] = loc
    for loc, s in located:
        for i, ref in enumerate(s.requires):
            if ref not in first:
                problems.append(((*loc, "requires", i), f"unknown id '{ref}'; use the id of a statement in this file"))
            elif ref == s.id:
                problems.append(((*loc, "requires", i), "a statement cannot require itself; remove it"))
        if s.tier not in (Tier.volunteered, Tier.never) and not s.asked_by and not s.keywords:
            problems.append(
                ((*loc, "asked_by"), "no example questions or keywords, so it can never be asked for; add asked_by")
            )
        if s.cover_story and s.tier != Tier.rapport and s.id not in p.culture.reluctant_to_say:
            problems.append(
                (
                    (*loc, "cover_story"),
                    "a cover story is used only with tier: rapport (or reluctant_to_say); remove it or change tier",
                )
            )
    for i, ref in enumerate(p.culture.reluctant_to_say):
        if ref not in first:
            problems.append((("culture", "reluctant_to_say", i), f"unknown id '{ref}'; use a statement id"))
    if p.bad_news is None and p.scenario == "breaking_bad_news":
        problems.append((("scenario",), "a breaking_bad_news persona needs a bad_news block; add one"))
    return problems


def load_persona(path: str | Path) -> Persona:
    """Load a persona file; raises FileProblemError with every problem found."""
    return load_model(path, Persona, what="persona file", check=check_persona)


def content_hash(path: str | Path) -> str:
    """sha256 of the persona file's bytes, stored with every session."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
