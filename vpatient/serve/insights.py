"""What the reviewed grades say across sessions: a cohort's per-item rates, score distribution and who
struggles with what; a student's logbook (per-item trends) and the next case to practise, chosen for their
weakest items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vpatient.errors import VPatientError
from vpatient.serve.review import ReviewedGrade
from vpatient.serve.sessions import Case
from vpatient.store import SessionInfo

BINS = 10
"""The score distribution has bins of 10 percentage points (0-9, 10-19, ... 90-100)."""
STRUGGLE_BELOW = 0.5
"""A learner struggles with an item they got right in fewer than half of their attempts."""


@dataclass(frozen=True)
class Graded:
    """One session with its current reviewed grade (of one rubric)."""

    session: SessionInfo
    grade: ReviewedGrade


def success(item: dict[str, Any]) -> bool:
    """Did the learner do well on this item: a behaviour done, or a fault avoided."""
    met = bool(item.get("met"))
    return not met if item.get("kind") == "fault" else met


def _titles(rows: Sequence[Graded]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for r in rows:
        for item in r.grade.grade.get("items", []):
            titles.setdefault(item["id"], item.get("title") or item["id"])
    return titles


def item_rates(rows: Sequence[Graded]) -> list[dict[str, Any]]:
    """Per item: attempts, successes and the rate, lowest rate first."""
    counts: dict[str, list[int]] = {}
    kinds: dict[str, str] = {}
    for r in rows:
        for item in r.grade.grade.get("items", []):
            c = counts.setdefault(item["id"], [0, 0])
            c[0] += 1
            c[1] += success(item)
            kinds[item["id"]] = item.get("kind", "behaviour")
    titles = _titles(rows)
    out = [
        {"id": i, "title": titles[i], "kind": kinds[i], "n": n, "ok": ok, "rate": round(ok / n, 3)}
        for i, (n, ok) in counts.items()
    ]
    return sorted(out, key=lambda x: (x["rate"], x["id"]))


def distribution(rows: Sequence[Graded]) -> list[dict[str, Any]]:
    bins = [0] * BINS
    for r in rows:
        percent = float(r.grade.grade.get("percent", 0.0))
        bins[min(BINS - 1, max(0, int(percent // (100 / BINS))))] += 1
    width = 100 // BINS
    return [
        {"from": i * width, "to": i * width + width - (1 if i < BINS - 1 else 0), "n": n} for i, n in enumerate(bins)
    ]


def struggles(rows: Sequence[Graded]) -> list[dict[str, Any]]:
    """Per learner: sessions, mean percent, and the items they get right less than half of the time."""
    by_learner: dict[str, list[Graded]] = {}
    for r in rows:
        by_learner.setdefault(r.session.learner or "anonymous", []).append(r)
    out = []
    for learner, mine in sorted(by_learner.items()):
        weak = [i for i in item_rates(mine) if i["rate"] < STRUGGLE_BELOW]
        out.append(
            {
                "learner": learner,
                "sessions": len(mine),
                "mean_percent": round(sum(float(r.grade.grade.get("percent", 0.0)) for r in mine) / len(mine), 1),
                "struggles": [{"id": i["id"], "title": i["title"], "rate": i["rate"]} for i in weak],
            }
        )
    return out


def cohort_view(cohort: str, rows: Sequence[Graded]) -> dict[str, Any]:
    return {
        "cohort": cohort,
        "sessions": len(rows),
        "learners": len({r.session.learner for r in rows}),
        "items": item_rates(rows),
        "distribution": distribution(rows),
        "by_learner": struggles(rows),
    }


@lru_cache(maxsize=32)
def _rubric_items(scenario: str) -> tuple[str, ...]:
    from vpatient.grading.rubric import load_rubric_file
    from vpatient.grading.stored import rubric_for_scenario

    try:
        return tuple(i.id for i in load_rubric_file(rubric_for_scenario(scenario)).items())
    except VPatientError:
        return ()


def suggest(rows: Sequence[Graded], cases: dict[str, Case], allowed: set[str] | None = None) -> dict[str, Any] | None:
    """The next case: the one whose rubric covers most of the learner's weakest items (lowest rates), the
    least practised case first among equals; None with no graded session yet."""
    rates = {i["id"]: i for i in item_rates(rows)}
    weakest = [i for i in sorted(rates.values(), key=lambda x: x["rate"]) if i["rate"] < 1.0][:5]
    if not weakest:
        return None
    done: dict[str, int] = {}
    for r in rows:
        done[r.session.persona_id] = done.get(r.session.persona_id, 0) + 1
    best: tuple[float, int, str] | None = None
    for case_id, case in cases.items():
        if allowed is not None and case_id not in allowed:
            continue
        items = set(_rubric_items(str(getattr(case.persona.scenario, "value", case.persona.scenario))))
        need = sum(1.0 - w["rate"] for w in weakest if w["id"] in items)
        if need <= 0:
            continue
        key = (-need, done.get(case_id, 0), case_id)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    case = cases[best[2]]
    covered = [
        w
        for w in weakest
        if w["id"] in set(_rubric_items(str(getattr(case.persona.scenario, "value", case.persona.scenario))))
    ]
    return {
        "case": case.id,
        "title": case.persona.title,
        "name": case.persona.identity.name,
        "items": [{"id": w["id"], "title": w["title"], "rate": w["rate"]} for w in covered],
        "reason": "practises " + ", ".join(w["title"] for w in covered),
    }


def logbook(
    learner: str, rows: Sequence[Graded], cases: dict[str, Case], allowed: set[str] | None = None
) -> dict[str, Any]:
    ordered = sorted(rows, key=lambda r: r.session.started_at)
    trends: dict[str, list[dict[str, Any]]] = {}
    for r in ordered:
        for item in r.grade.grade.get("items", []):
            trends.setdefault(item["id"], []).append({"session": r.session.id, "ok": success(item)})
    rates = item_rates(ordered)
    return {
        "learner": learner,
        "sessions": [
            {
                "id": r.session.id,
                "persona": r.session.persona_id,
                "started_at": r.session.started_at,
                "rubric": r.grade.grade.get("rubric"),
                "percent": r.grade.grade.get("percent"),
                "passed": r.grade.grade.get("passed"),
                "status": r.grade.status,
            }
            for r in ordered
        ],
        "items": [{**i, "trend": [t["ok"] for t in trends[i["id"]]]} for i in rates],
        "next_case": suggest(ordered, cases, allowed),
    }
