"""Load, check, find and summarise rubric files (safe YAML -> pydantic, FILE:LINE errors)."""

from __future__ import annotations

import os
from pathlib import Path

from vpatient import patterns
from vpatient.errors import FileProblemError, Problem
from vpatient.grading.schema import Evidence, Kind, Rubric
from vpatient.yamlfile import Loc, load_model

RUBRIC_DIRS_ENV = "VPATIENT_RUBRICS"
"""Extra folders (os.pathsep-separated) searched for `<id>.yaml` before the shipped rubrics. A ./rubrics/
folder in the working directory is not searched: it would silently replace the shipped rubric; give its
path, or name it in VPATIENT_RUBRICS."""


def _regex_problems(loc: Loc, ev: Evidence) -> list[tuple[Loc, str]]:
    """Faculty regular expressions checked by vpatient.patterns (syntax, all-matching, catastrophic backtracking)."""
    problems: list[tuple[Loc, str]] = []
    for key in ("patterns", "exclude"):
        for i, pattern in enumerate(getattr(ev, key)):
            problem = patterns.check(pattern)
            if problem:
                problems.append(((*loc, key, i), f"{pattern!r}: {problem}"))
    for i, phrase in enumerate(ev.phrases):
        if not phrase.strip():
            problems.append(((*loc, "phrases", i), "an empty phrase; write the words to look for or remove it"))
    return problems


def _evidence_problems(loc: Loc, ev: Evidence) -> list[tuple[Loc, str]]:
    problems = _regex_problems(loc, ev)
    if not (ev.acts or ev.any_acts or ev.detector or ev.patterns or ev.phrases or ev.examples):
        problems.append(
            (
                loc,
                "nothing to match: give at least one of acts, any_acts, detector, patterns, phrases or examples",
            )
        )
    if (ev.terms or ev.ignore_terms) and ev.detector is None:
        problems.append(((*loc, "terms"), "terms/ignore_terms are used only with a detector; add one or remove them"))
    return problems


def check_rubric(r: Rubric) -> list[tuple[Loc, str]]:
    """Problems that span fields: duplicate ids, unknown or circular ordering references, bad regexes."""
    problems: list[tuple[Loc, str]] = []
    seen_sections: set[str] = set()
    first: dict[str, Loc] = {}
    located: list[tuple[Loc, str, Evidence]] = []
    for e_i, event in enumerate(r.events):
        loc: Loc = ("events", e_i)
        if event.id in first:
            problems.append(((*loc, "id"), f"duplicate id '{event.id}'; event and item ids must be unique"))
        first.setdefault(event.id, loc)
        located.append(((*loc, "evidence"), event.id, event.evidence))
    for s_i, section in enumerate(r.sections):
        if section.id in seen_sections:
            problems.append((("sections", s_i, "id"), f"duplicate section id '{section.id}'; make it unique"))
        seen_sections.add(section.id)
        for i_i, item in enumerate(section.items):
            loc = ("sections", s_i, "items", i_i)
            if item.id in first:
                where = ".".join(map(str, first[item.id]))
                problems.append(((*loc, "id"), f"duplicate id '{item.id}' (also at {where}); ids must be unique"))
            first.setdefault(item.id, loc)
            located.append(((*loc, "evidence"), item.id, item.evidence))
    refs: dict[str, list[str]] = {}
    for loc, owner, ev in located:
        problems += _evidence_problems(loc, ev)
        for key in ("before", "after"):
            ref = getattr(ev, key)
            if ref is None:
                continue
            if ref == owner:
                problems.append(((*loc, key), f"'{ref}' refers to itself; name another item or an event"))
            elif ref not in first:
                known = ", ".join(sorted(first))
                problems.append(((*loc, key), f"unknown event or item '{ref}'; use one of: {known}"))
            else:
                refs.setdefault(owner, []).append(ref)
    for loc, owner, _ev in located:
        if _cycle(owner, refs):
            problems.append((loc, f"before/after constraints starting at '{owner}' go round in a circle; break it"))
    if not any(item.kind == Kind.behaviour for item in r.items()):
        problems.append((("sections",), "no behaviour items: a rubric needs at least one thing to do"))
    return problems


def _cycle(start: str, refs: dict[str, list[str]]) -> bool:
    stack = list(refs.get(start, []))
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        if node == start:
            return True
        if node not in seen:
            seen.add(node)
            stack += refs.get(node, [])
    return False


def load_rubric_file(path: str | Path) -> Rubric:
    """Load a rubric file; raises FileProblemError with every problem found (FILE:LINE: field: message)."""
    return load_model(path, Rubric, what="rubric file", check=check_rubric)


def rubric_dirs() -> list[Path]:
    """Where rubric ids are looked up: $VPATIENT_RUBRICS (when the user asks for it), then the shipped rubrics."""
    from vpatient.shipped import RUBRICS

    dirs = [Path(p) for p in os.environ.get(RUBRIC_DIRS_ENV, "").split(os.pathsep) if p]
    dirs.append(RUBRICS)
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def available() -> dict[str, Path]:
    """Rubric id (file stem) -> file, the first folder winning."""
    found: dict[str, Path] = {}
    for d in rubric_dirs():
        for path in sorted(d.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def resolve(id_or_file: str | Path) -> Path:
    """A rubric file path, or a rubric id looked up in rubric_dirs()."""
    text = str(id_or_file)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or os.sep in text or path.exists():
        if not path.exists():
            raise FileProblemError([Problem(text, 0, "", "no such rubric file; check the path")])
        return path
    known = available()
    if text in known:
        return known[text]
    names = ", ".join(sorted(known)) or "none found"
    raise FileProblemError([Problem(text, 0, "", f"unknown rubric id; use a file path or one of: {names}")])


def load_rubric(id_or_file: str | Path) -> Rubric:
    """Load a rubric by id (e.g. history_taking) or by file path."""
    return load_rubric_file(resolve(id_or_file))


def summary(r: Rubric) -> str:
    """A readable summary for faculty (`vpatient rubric show`)."""
    total = sum(i.marks for i in r.items())
    lines = [
        f"{r.title}  [{r.id}, {r.scenario}]",
        *(["  " + line for line in r.description.strip().splitlines()] if r.description else []),
        f"Pass mark: {r.pass_mark:g}% (weighted); {len(r.items())} items, {total:g} marks",
    ]
    for event in r.events:
        lines.append(f"Event {event.id}: {event.description}")
    for section in r.sections:
        marks = sum(i.marks for i in section.items)
        lines += ["", f"{section.title}  [{section.id}, weight {section.weight:g}, {marks:g} marks]"]
        for item in section.items:
            ev = item.evidence
            how = [f"acts {','.join(a.value for a in ev.acts)}" if ev.acts else ""]
            how.append(f"any of {','.join(a.value for a in ev.any_acts)}" if ev.any_acts else "")
            how.append(f"detector {ev.detector.value}" if ev.detector else "")
            how.append(f"{len(ev.patterns)} patterns" if ev.patterns else "")
            how.append(f"{len(ev.phrases)} phrases" if ev.phrases else "")
            how.append(f"{len(ev.examples)} examples (>= {ev.threshold:g})" if ev.examples else "")
            how.append(f"before {ev.before}" if ev.before else "")
            how.append(f"after {ev.after}" if ev.after else "")
            how.append(f"first {ev.first_turns} turns" if ev.first_turns else "")
            how.append(f"first {ev.before_fraction:.0%} of the consultation" if ev.before_fraction < 1 else "")
            how.append(f"after {ev.after_fraction:.0%} of the consultation" if ev.after_fraction else "")
            fault = " FAULT" if item.kind == Kind.fault else ""
            lines.append(f"  - {item.id}{fault} ({item.marks:g}): {item.description}")
            lines.append(f"      evidence: {'; '.join(h for h in how if h)}")
    return "\n".join(lines)
