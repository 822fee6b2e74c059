"""`vpatient eval grader --rubric ID --transcripts DIR --labels LABELS.json [--json] [--details]`.

Registered on the `eval` area's sub-parsers by `register_grader(eval_subparsers)` (called from eval_cmd).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register_grader(eval_subparsers: Any) -> None:
    g = eval_subparsers.add_parser(
        "grader",
        help="agreement of the grader with human labels: per-item Cohen's kappa and accuracy",
        description="Grades every labelled transcript and compares with the human labels "
        '({"<transcript id>": {"<item id>": {"label": 0 or 1}}}). Kappa is undefined (shown as undef / '
        "null) for an item whose human labels are all the same; accuracy still counts.",
    )
    g.add_argument("--rubric", required=True, metavar="ID_OR_FILE")
    g.add_argument("--transcripts", required=True, metavar="DIR", help="folder of transcript JSON files")
    g.add_argument("--labels", required=True, metavar="LABELS.json")
    g.add_argument("--json", action="store_true", help="print JSON")
    g.add_argument("--details", action="store_true", help="also list every disagreement with the grader's rationale")
    g.set_defaults(handler=grader_agreement)


def grader_agreement(args: argparse.Namespace) -> int:
    from vpatient.grading.agreement import evaluate, load_labels, load_transcripts
    from vpatient.grading.rubric import load_rubric

    rubric = load_rubric(args.rubric)
    labels = load_labels(args.labels)
    transcripts, warnings = load_transcripts(args.transcripts)
    result = evaluate(rubric, transcripts, labels)
    result.warnings[:0] = warnings
    if args.json:
        print(json.dumps(result.to_json(details=args.details), indent=2, ensure_ascii=False))
    else:
        print(result.table())
        if args.details:
            for item in result.items:
                for d in item.disagreements:
                    who = f"{d['transcript']} human={d['human']} grader={d['grader']}"
                    print(f"  {item.item}: {who}: {d['rationale']}")
    if not result.items:
        print("vpatient: no labelled items matched the transcripts and the rubric", file=sys.stderr)
        return 1
    return 0
