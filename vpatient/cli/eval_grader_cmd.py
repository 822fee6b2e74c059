"""`vpatient eval grader --rubric ID --transcripts DIR... [--labels PATH...] [--splits SPLITS.yaml] [--json]
[--details]`.

Per item: Cohen's kappa, Gwet's AC1, accuracy and the confusion counts (TP/FP/FN/TN, the human label as
truth), for the development and held-out splits side by side. Labels come from one or more files or
folders (default: eval/labels/<rubric>.json and the folder eval/labels/<rubric>/ when they exist). The
split file maps each rubric to {dev: [ids], heldout: [ids]}; without one (or without an entry for the
rubric) every labelled transcript is development data. Disagreement details (--details) are printed for
the development split only: nothing should be tuned on held-out data.

Registered on the `eval` area's sub-parsers by `register_grader(eval_subparsers)` (called from eval_cmd).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_SPLITS = Path("eval/splits.yaml")


def register_grader(eval_subparsers: Any) -> None:
    g = eval_subparsers.add_parser(
        "grader",
        help="agreement of the grader with human labels: kappa, AC1, accuracy, TP/FP/FN/TN per item and split",
        description="Grades every labelled transcript and compares with the human labels "
        '({"<transcript id>": {"<item id>": {"label": 0 or 1}}}), development and held-out splits side by '
        "side. Kappa is undefined (undef / null) for an item whose human labels are all the same; AC1 and "
        "accuracy still count. For fault items 1 means the fault happened.",
    )
    g.add_argument("--rubric", required=True, metavar="ID_OR_FILE")
    g.add_argument("--transcripts", required=True, nargs="+", metavar="DIR", help="folder(s) of transcript JSON files")
    g.add_argument(
        "--labels",
        nargs="+",
        metavar="PATH",
        help="label files or folders of them (default: eval/labels/<rubric>.json and eval/labels/<rubric>/)",
    )
    g.add_argument(
        "--splits",
        metavar="SPLITS.yaml",
        help=f"split file {{rubric: {{dev: [ids], heldout: [ids]}}}} (default: {DEFAULT_SPLITS} if present)",
    )
    g.add_argument("--split", choices=["dev", "heldout", "both"], default="both", help="which split(s) to report")
    g.add_argument("--json", action="store_true", help="print JSON")
    g.add_argument(
        "--details",
        action="store_true",
        help="also list every development-split disagreement with the grader's rationale (never held-out ones)",
    )
    from vpatient.cli.grade_cmd import add_judge_options

    add_judge_options(g, "also judge every labelled item with an LLM and report rules, judge and combined side by side")
    g.set_defaults(handler=grader_agreement)


def _label_paths(args: argparse.Namespace, rubric_id: str) -> list[str | Path]:
    if args.labels:
        return list(args.labels)
    base = Path("eval/labels")
    found: list[str | Path] = [p for p in (base / f"{rubric_id}.json", base / rubric_id) if p.exists()]
    if not found:
        raise SystemExit(f"vpatient eval grader: no labels given and none at {base}/{rubric_id}.json")
    return found


def side_by_side(results: dict[str, Any]) -> str:
    """One row per item, the splits' figures next to each other."""
    names = list(results)
    head = f"{'item':34}"
    sub = f"{'':34}"
    for name in names:
        head += f" | {name:^41}"
        sub += f" | {'n':>3} {'kappa':>6} {'AC1':>6} {'acc':>5} {'TP':>3} {'FP':>3} {'FN':>3} {'TN':>3}"
    lines = [head, sub]
    items = [i.item for i in results[names[0]].items]
    for item in items:
        row = ""
        fault = False
        for name in names:
            it = next((x for x in results[name].items if x.item == item), None)
            if it is None:
                row += f" | {'-':>41}"
                continue
            fault = it.fault
            k = "undef" if it.kappa is None else f"{it.kappa:.3f}"
            a = "undef" if it.ac1 is None else f"{it.ac1:.3f}"
            row += f" | {it.n:3d} {k:>6} {a:>6} {it.accuracy:5.3f} {it.tp:3d} {it.fp:3d} {it.fn:3d} {it.tn:3d}"
        lines.append(f"{item + (' (fault)' if fault else ''):34}" + row)
    row = ""
    for name in names:
        r = results[name]
        mk, m1, ma = r.mean_kappa, r.mean_ac1, r.mean_accuracy
        k = "undef" if mk is None else f"{mk:.3f}"
        a = "undef" if m1 is None else f"{m1:.3f}"
        row += f" | {r.transcripts:3d} {k:>6} {a:>6} {(ma or 0.0):5.3f} {'':15}"
    lines.append(f"{'MEAN (n = transcripts)':34}" + row)
    lines.append("For fault items 1 means the fault happened; TP = both say 1.")
    return "\n".join(lines)


def grader_agreement(args: argparse.Namespace) -> int:
    from vpatient.grading.agreement import evaluate, load_label_files, load_splits, load_transcripts
    from vpatient.grading.grader import Grader
    from vpatient.grading.rubric import load_rubric

    rubric = load_rubric(args.rubric)
    labels = load_label_files(_label_paths(args, rubric.id))
    transcripts: dict[str, Any] = {}
    warnings: list[str] = []
    for folder in args.transcripts:
        found, w = load_transcripts(folder)
        warnings += w
        for k, v in found.items():
            transcripts.setdefault(k, v)
    split_file = Path(args.splits) if args.splits else (DEFAULT_SPLITS if DEFAULT_SPLITS.exists() else None)
    splits = load_splits(split_file, rubric.id) if split_file else {}
    if not splits:
        splits = {"dev": list(labels)}
        warnings.append("no split file entry for this rubric: every labelled transcript is development data")
    else:
        unsplit = sorted(set(labels) - set(splits["dev"]) - set(splits["heldout"]))
        if unsplit:
            warnings.append(f"{len(unsplit)} labelled transcripts are in neither split and were left out")
    wanted = ["dev", "heldout"] if args.split == "both" else [args.split]
    grader = Grader(rubric)
    results: dict[str, Any] = {}
    for name in wanted:
        ids = splits.get(name, [])
        subset = {tid: labels[tid] for tid in ids if tid in labels}
        missing = [tid for tid in ids if tid not in labels]
        if missing:
            warnings.append(f"{name}: {len(missing)} ids have no labels (e.g. {missing[0]})")
        if subset:
            results[name] = evaluate(rubric, transcripts, subset, grader=grader)
    for r in results.values():
        warnings += r.warnings
    if not results:
        print("vpatient: no labelled items matched the transcripts and the rubric", file=sys.stderr)
        return 1
    judged: dict[str, Any] = {}
    if args.judge:
        judged = _judge(args, rubric, transcripts, labels, splits, wanted, grader)
    if args.json:
        payload = {
            "rubric": rubric.id,
            "splits": {n: r.to_json(details=args.details and n == "dev") for n, r in results.items()},
            "warnings": warnings,
        }
        if judged:
            payload["judge"] = judged
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print(side_by_side(results))
        if warnings:
            print("\nWarnings:\n" + "\n".join("  " + w for w in dict.fromkeys(warnings)))
        if args.details and "dev" in results:
            print("\nDevelopment disagreements:")
            for item in results["dev"].items:
                for d in item.disagreements:
                    who = f"{d['transcript']} human={d['human']} grader={d['grader']}"
                    print(f"  {item.item}: {who}: {d['rationale']}")
        if judged:
            from vpatient.grading.llm_judge import judge_table

            for name, report in judged.items():
                print(f"\nRules, judge and combined ({name}):")
                print(judge_table(report))
    return 0


def _judge(
    args: argparse.Namespace,
    rubric: Any,
    transcripts: dict[str, Any],
    labels: dict[str, Any],
    splits: dict[str, list[str]],
    wanted: list[str],
    grader: Any,
) -> dict[str, Any]:
    from vpatient.errors import UsageError
    from vpatient.grading.llm_judge import judge_agreement, make_judge

    if args.judge_backend == "openai" and not (args.judge_endpoint and args.judge_model):
        raise UsageError("--judge-backend openai needs --judge-endpoint URL and --judge-model NAME")
    if args.judge_backend == "transformers" and not args.judge_model:
        raise UsageError("--judge-backend transformers needs --judge-model FOLDER")
    judge = make_judge(
        args.judge_backend, model=args.judge_model, endpoint=args.judge_endpoint, timeout_s=args.judge_timeout
    )
    out: dict[str, Any] = {}
    for name in wanted:
        subset = {tid: labels[tid] for tid in splits.get(name, []) if tid in labels}
        if subset:
            out[name] = judge_agreement(rubric, transcripts, subset, grader, judge, args.judge_policy)
    return out
