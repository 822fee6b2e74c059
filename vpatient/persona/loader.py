"""Load and check persona files: safe YAML, pydantic validation, cross-field checks, FILE:LINE errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vpatient import patterns
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


def _circular(located: list[tuple[Loc, Statement]]) -> list[tuple[Loc, str]]:
    """Statements whose `requires` lead back to themselves (so none of them can ever be told)."""
    requires = {s.id: [r for r in s.requires if r != s.id] for _loc, s in located}
    problems: list[tuple[Loc, str]] = []
    for loc, s in located:
        path, stack, seen = [s.id], [(r, [s.id, r]) for r in requires.get(s.id, [])], set()
        while stack:
            node, path = stack.pop()
            if node == s.id:
                problems.append(
                    (
                        (*loc, "requires"),
                        f"circular requires ({' -> '.join(path)}): none of these can ever be told; "
                        "remove one of the requirements",
                    )
                )
                break
            if node not in seen:
                seen.add(node)
                stack += [(r, [*path, r]) for r in requires.get(node, [])]
    return problems


def _text_problems(p: Persona, located: list[tuple[Loc, Statement]]) -> list[tuple[Loc, str]]:
    """Blank words (the patient would say nothing) and unusable keywords or news terms."""
    problems: list[tuple[Loc, str]] = []
    for loc, s in located:
        if not s.says.strip():
            problems.append(((*loc, "says"), "blank: write what the patient says"))
        if s.cover_story is not None and not s.cover_story.strip():
            problems.append(((*loc, "cover_story"), "blank: write what the patient says instead, or remove it"))
        for i, keyword in enumerate(s.keywords):
            problem = patterns.check(keyword)
            if problem:
                problems.append(((*loc, "keywords", i), f"{keyword!r}: {problem}"))
    if not p.opening_line.strip():
        problems.append((("opening_line",), "blank: write what the patient says when first invited to speak"))
    if p.bad_news is not None:
        for i, term in enumerate(p.bad_news.news_terms):
            if not term.strip():
                problems.append(
                    (("bad_news", "news_terms", i), "empty term: it would count every line as the news; remove it")
                )
        if not p.bad_news.reactions.to_news.strip():
            problems.append((("bad_news", "reactions", "to_news"), "blank: write the patient's first words"))
    return problems


def check_persona(p: Persona) -> list[tuple[Loc, str]]:
    """Problems that span fields: duplicate ids, dangling or circular references, unreachable statements,
    blank words, and keywords that are not usable patterns (vpatient.patterns.check)."""
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
    problems += _circular(located)
    problems += _text_problems(p, located)
    return problems


def load_persona(path: str | Path) -> Persona:
    """Load a persona file; raises FileProblemError with every problem found."""
    return load_model(path, Persona, what="persona file", check=check_persona)


def content_hash(path: str | Path) -> str:
    """sha256 of the persona file's bytes, stored with every session."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
