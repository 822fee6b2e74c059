"""xAPI 2.0 statements of a graded consultation, following the MedBiquitous virtual-patient xAPI profile
where it applies: the learner is an Agent with an account on this server, the case is the activity (type
`http://adlnet.gov/expapi/activities/simulation`), every statement names the profile in its `category`
context activities, and the session is the registration.

One statement per consultation (verb `completed`, result: the reviewed score scaled 0-1, raw, min, max,
success = passed, completion = the session ended) and one per rubric item (verb `scored`, the item as the
activity with the case as its parent; success = done for a behaviour, not done for a fault). Statement ids
are UUIDs derived from the session, grade and item, so exporting twice gives the same statements (an LRS
ignores the duplicates).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from vpatient.serve.review import ReviewedGrade
from vpatient.transcript import Transcript

VERSION = "2.0.0"
PROFILE = "https://w3id.org/xapi/virtual-patient"
SIMULATION = "http://adlnet.gov/expapi/activities/simulation"
OBJECTIVE = "http://adlnet.gov/expapi/activities/objective"
COMPLETED = {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}}
SCORED = {"id": "http://adlnet.gov/expapi/verbs/scored", "display": {"en-US": "scored"}}
_NS = uuid.UUID("6f1c1b54-64a4-4a71-9a0d-7d6f3c0e2b5a")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def case_activity(base: str, case_id: str, title: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{base}/xapi/cases/{quote(case_id, safe='')}",
        "definition": {"type": SIMULATION, "name": {"en-US": title or case_id}},
    }


def statements(
    base: str, transcript: Transcript, grades: list[ReviewedGrade], *, case_title: str = ""
) -> list[dict[str, Any]]:
    """The statements of one session (none for an ungraded session: there is no result to report)."""
    base = base.rstrip("/")
    learner = str(transcript.extra.get("learner") or "anonymous")
    actor = {"objectType": "Agent", "name": learner, "account": {"homePage": base, "name": learner}}
    case = case_activity(base, transcript.persona or "unknown", case_title)
    ended = transcript.extra.get("status") == "ended"
    when = str(transcript.extra.get("started_at") or "")
    context: dict[str, Any] = {
        "registration": _id("session", transcript.id),
        "platform": "vpatient",
        "language": "en",
        "contextActivities": {
            "category": [{"id": PROFILE, "definition": {"type": "http://adlnet.gov/expapi/activities/profile"}}]
        },
        "extensions": {f"{base}/xapi/extensions/session": transcript.id},
    }
    out: list[dict[str, Any]] = []
    for g in grades:
        grade = g.grade
        top = float(grade.get("max_score") or 0.0)
        raw = float(grade.get("score") or 0.0)
        rubric = str(grade.get("rubric", ""))
        out.append(
            {
                "id": _id("consultation", transcript.id, g.record.id),
                "version": VERSION,
                "actor": actor,
                "verb": COMPLETED,
                "object": case,
                "result": {
                    "score": {
                        "scaled": round(float(grade.get("percent", 0.0)) / 100.0, 4),
                        "raw": raw,
                        "min": 0.0,
                        "max": top,
                    },
                    "success": bool(grade.get("passed")),
                    "completion": ended,
                    "extensions": {
                        f"{base}/xapi/extensions/rubric": rubric,
                        f"{base}/xapi/extensions/review-status": g.status,
                    },
                },
                "context": context,
                **({"timestamp": when} if when else {}),
            }
        )
        for item in grade.get("items", []):
            fault = item.get("kind") == "fault"
            item_ref = quote(str(item.get("id")), safe="")
            met = bool(item.get("met"))
            score = float(item.get("score") or 0.0)
            low, high = (min(score, 0.0), 0.0) if fault else (0.0, max(float(item.get("max") or 0.0), score))
            out.append(
                {
                    "id": _id("item", transcript.id, g.record.id, item.get("id")),
                    "version": VERSION,
                    "actor": actor,
                    "verb": SCORED,
                    "object": {
                        "objectType": "Activity",
                        "id": f"{case['id']}/rubrics/{quote(rubric, safe='')}/items/{item_ref}",
                        "definition": {
                            "type": OBJECTIVE,
                            "name": {"en-US": str(item.get("title") or item.get("id"))},
                            "extensions": {f"{base}/xapi/extensions/item-kind": item.get("kind")},
                        },
                    },
                    "result": {
                        "score": {"raw": score, "min": low, "max": high},
                        "success": (not met) if fault else met,
                        "response": "happened" if fault and met else ("done" if met else "not done"),
                    },
                    "context": {**context, "contextActivities": {**context["contextActivities"], "parent": [case]}},
                    **({"timestamp": when} if when else {}),
                }
            )
    return out
