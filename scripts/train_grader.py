#!/usr/bin/env python3
"""Train the grader's learned weights (vpatient/data/grader/<rubric>.json) from the DEVELOPMENT split only.

    PYTHONPATH=. python scripts/train_grader.py --rubric breaking_bad_news \
        --transcripts eval/transcripts/breaking_bad_news [--out DIR] [--report FILE.json] [--no-nested]

Reads eval/splits.yaml and keeps only the rubric's `dev` ids before anything else: labels of other ids are
dropped as soon as the label files are read, and only the dev transcripts' files are opened. Deterministic:
the same data gives the same weights. Prints per item the rules' development figures, the cross-validated
figures of the chosen policy and the nested cross-validated ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _labels(paths: list[Path], keep: set[str]) -> dict[str, dict[str, Any]]:
    """{transcript id: {item: {"label", "turns"}}} for the `keep` ids only (full records: evidence turns too)."""
    out: dict[str, dict[str, Any]] = {}
    files: list[Path] = []
    for p in paths:
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        for tid in [t for t in data if t in keep]:
            for item, value in data[tid].items():
                rec = value if isinstance(value, dict) else {"label": value, "turns": []}
                out.setdefault(tid, {})[item] = {"label": int(rec["label"]), "turns": list(rec.get("turns", []))}
    return out


def _dev_transcripts(folders: list[Path], ids: list[str]) -> dict[str, Any]:
    from vpatient.transcript import load

    found: dict[str, Any] = {}
    for tid in ids:
        names = [tid, tid.removeprefix("primock57-")]
        for folder in folders:
            path = next((folder / f"{n}.json" for n in names if (folder / f"{n}.json").is_file()), None)
            if path is not None:
                t = load(path)
                if t.id == tid or path.stem == tid:
                    found[tid] = t
                    break
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rubric", required=True)
    ap.add_argument("--transcripts", required=True, nargs="+", type=Path)
    ap.add_argument("--labels", nargs="+", type=Path)
    ap.add_argument("--splits", type=Path, default=ROOT / "eval" / "splits.yaml")
    ap.add_argument("--out", type=Path, help="folder for <rubric>.json (default: the package data)")
    ap.add_argument("--report", type=Path, help="write the per-item figures as JSON here")
    ap.add_argument("--no-nested", action="store_true", help="skip the nested cross-validation (faster)")
    args = ap.parse_args(argv)

    from vpatient.grading.agreement import load_splits
    from vpatient.grading.grader import Grader
    from vpatient.grading.learned import models_dir
    from vpatient.grading.rubric import load_rubric
    from vpatient.grading.training import prepare, train

    rubric = load_rubric(args.rubric)
    splits = load_splits(args.splits, rubric.id)
    dev = list(splits.get("dev", []))
    if not dev:
        print(f"no dev split for {rubric.id} in {args.splits}", file=sys.stderr)
        return 1
    base = ROOT / "eval" / "labels"
    paths = args.labels or [p for p in (base / f"{rubric.id}.json", base / rubric.id) if p.exists()]
    labels = _labels(paths, set(dev))
    transcripts = _dev_transcripts(args.transcripts, [t for t in dev if t in labels])
    ids = [t for t in dev if t in labels and t in transcripts]
    assert not set(ids) & set(splits.get("heldout", [])), "a held-out id reached training"
    print(f"{rubric.id}: {len(ids)} development transcripts ({len(dev) - len(ids)} dev ids without data)")
    grader = Grader(rubric, learned=False)
    from vpatient.embeddings import cache_dir

    examples = prepare(grader, transcripts, labels, ids, cache=cache_dir() / "grader-training")
    model, reports = train(rubric, grader, examples, nested=not args.no_nested)
    out = (args.out or models_dir()) / f"{rubric.id}.json"
    model.save(out)
    print(f"wrote {out}")
    head = f"{'item':34} {'policy':8} {'features':9} {'rules k':>8} {'cv k':>7} {'nested k':>9} {'nested AC1':>10}"
    print(head)

    def k(d: dict[str, Any], key: str = "kappa") -> str:
        return "undef" if d.get(key) is None else f"{d[key]:.3f}"

    for r in reports:
        feats = model.items[r.item].features if r.policy != "rules" else "-"
        print(
            f"{r.item:34} {r.policy:8} {feats:9} {k(r.rules):>8} {k(r.cv):>7} {k(r.nested):>9} {k(r.nested, 'ac1'):>10}"
        )
    print(
        "The development estimate of what ships: the nested figure for learned/either items, the rules' figure "
        "for rules items (rules written on this data: optimistic)."
    )
    if args.report:
        args.report.write_text(
            json.dumps([r.__dict__ for r in reports], indent=1, default=float) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
