"""Agreement between the grader and human labels: per-item Cohen's kappa, Gwet's AC1, accuracy and the
confusion counts (TP/FP/FN/TN, the human label as truth), per split (development, held-out).

Labels file: {"<transcript id>": {"<item id>": {"label": 0 or 1, ...}}} (a bare 0/1 is accepted too);
several files (or a folder of them) are merged. When the human labels of an item are all the same, kappa is
undefined (no variation to agree on): it is reported as None with a note; AC1 stays defined.
Split file (eval/splits.yaml): {rubric_id: {dev: [transcript ids], heldout: [transcript ids]}}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpatient.errors import TranscriptError, VPatientError
from vpatient.grading.grader import Grade, Grader
from vpatient.grading.schema import Kind, Rubric
from vpatient.transcript import Transcript, load


class LabelsError(VPatientError):
    """A labels file is not in the expected shape."""


def cohen_kappa(human: list[int], machine: list[int]) -> float | None:
    """Cohen's kappa for two binary raters; None when undefined (expected agreement is 1)."""
    n = len(human)
    if n == 0 or n != len(machine):
        return None
    observed = sum(1 for h, m in zip(human, machine, strict=True) if h == m) / n
    p_h = sum(human) / n
    p_m = sum(machine) / n
    expected = p_h * p_m + (1 - p_h) * (1 - p_m)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def gwet_ac1(human: list[int], machine: list[int]) -> float | None:
    """Gwet's AC1 for two binary raters (stable when one class dominates); None for no data."""
    n = len(human)
    if n == 0 or n != len(machine):
        return None
    observed = sum(1 for h, m in zip(human, machine, strict=True) if h == m) / n
    pi = (sum(human) + sum(machine)) / (2 * n)
    expected = 2 * pi * (1 - pi)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


@dataclass
class ItemAgreement:
    item: str
    n: int
    kappa: float | None
    accuracy: float
    human_positive: int
    grader_positive: int
    note: str = ""
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    ac1: float | None = None
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    fault: bool = False
    """A fault item: 1 means the fault happened (the counts read the same way)."""

    def to_json(self, details: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "item": self.item,
            "n": self.n,
            "kappa": None if self.kappa is None else round(self.kappa, 3),
            "ac1": None if self.ac1 is None else round(self.ac1, 3),
            "accuracy": round(self.accuracy, 3),
            "human_positive": self.human_positive,
            "grader_positive": self.grader_positive,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "one_means": "fault happened" if self.fault else "done",
        }
        if self.note:
            out["note"] = self.note
        if details:
            out["disagreements"] = self.disagreements
        return out


@dataclass
class Agreement:
    rubric: str
    transcripts: int
    items: list[ItemAgreement]
    warnings: list[str]

    @property
    def mean_kappa(self) -> float | None:
        defined = [i.kappa for i in self.items if i.kappa is not None]
        return sum(defined) / len(defined) if defined else None

    @property
    def mean_accuracy(self) -> float | None:
        return sum(i.accuracy for i in self.items) / len(self.items) if self.items else None

    def to_json(self, details: bool = False) -> dict[str, Any]:
        mk, ma = self.mean_kappa, self.mean_accuracy
        return {
            "rubric": self.rubric,
            "transcripts": self.transcripts,
            "mean_kappa": None if mk is None else round(mk, 3),
            "mean_kappa_over": sum(1 for i in self.items if i.kappa is not None),
            "mean_accuracy": None if ma is None else round(ma, 3),
            "mean_ac1": None if self.mean_ac1 is None else round(self.mean_ac1, 3),
            "items": [i.to_json(details) for i in self.items],
            "warnings": self.warnings,
        }

    @property
    def mean_ac1(self) -> float | None:
        defined = [i.ac1 for i in self.items if i.ac1 is not None]
        return sum(defined) / len(defined) if defined else None

    def table(self) -> str:
        lines = [f"{'item':34} {'n':>3} {'kappa':>7} {'AC1':>6} {'acc':>6} {'TP':>3} {'FP':>3} {'FN':>3} {'TN':>3}"]
        for i in self.items:
            k = "undef" if i.kappa is None else f"{i.kappa:.3f}"
            a = "undef" if i.ac1 is None else f"{i.ac1:.3f}"
            name = i.item + (" (fault)" if i.fault else "")
            lines.append(f"{name:34} {i.n:3d} {k:>7} {a:>6} {i.accuracy:6.3f} {i.tp:3d} {i.fp:3d} {i.fn:3d} {i.tn:3d}")
        mk, ma, m1 = self.mean_kappa, self.mean_accuracy, self.mean_ac1
        n_def = sum(1 for i in self.items if i.kappa is not None)
        lines.append(
            f"{'MEAN':34} {'':3} {('undef' if mk is None else f'{mk:.3f}'):>7} "
            f"{('undef' if m1 is None else f'{m1:.3f}'):>6} "
            f"{(0.0 if ma is None else ma):6.3f}   (kappa over {n_def} of {len(self.items)} items)"
        )
        notes = [f"  {i.item}: {i.note}" for i in self.items if i.note]
        if notes:
            lines += ["", "Notes:", *notes]
        if self.warnings:
            lines += ["", "Warnings:", *("  " + w for w in self.warnings)]
        return "\n".join(lines)


def load_labels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read a labels file into {transcript id: {item id: 0/1}}; errors name the transcript and item."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LabelsError(f"{path}: cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise LabelsError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise LabelsError(f"{path}: the top level must be an object of transcript ids")
    out: dict[str, dict[str, int]] = {}
    for tid, items in data.items():
        if not isinstance(items, dict):
            raise LabelsError(f"{path}: {tid}: must be an object of item ids")
        out[tid] = {}
        for item, value in items.items():
            label = value.get("label") if isinstance(value, dict) else value
            if isinstance(label, bool) or label not in (0, 1):
                raise LabelsError(f"{path}: {tid}.{item}.label: must be 0 or 1 (got {label!r})")
            out[tid][item] = int(label)
    return out


def load_label_files(paths: list[str | Path]) -> dict[str, dict[str, int]]:
    """Labels from several files and/or folders of *.json files, merged; a transcript labelled twice with
    different values for an item is an error (adjudicate first)."""
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    merged: dict[str, dict[str, int]] = {}
    for f in files:
        for tid, items in load_labels(f).items():
            mine = merged.setdefault(tid, {})
            for item, label in items.items():
                if item in mine and mine[item] != label:
                    raise LabelsError(f"{f}: {tid}.{item}: labelled {label} here but {mine[item]} in another file")
                mine[item] = label
    return merged


SPLITS = ("dev", "heldout")


def load_splits(path: str | Path, rubric_id: str) -> dict[str, list[str]]:
    """{split name: transcript ids} for one rubric from a split file ({rubric: {dev: [...], heldout: [...]}})."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise LabelsError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise LabelsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LabelsError(f"{path}: the top level must map rubric ids to {{dev: [...], heldout: [...]}}")
    mine = data.get(rubric_id)
    if mine is None:
        return {}
    if not isinstance(mine, dict) or set(mine) - set(SPLITS):
        raise LabelsError(f"{path}: {rubric_id}: must have only the keys {', '.join(SPLITS)}")
    out: dict[str, list[str]] = {}
    for name in SPLITS:
        ids = mine.get(name) or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise LabelsError(f"{path}: {rubric_id}.{name}: must be a list of transcript ids")
        out[name] = ids
    overlap = set(out.get("dev", [])) & set(out.get("heldout", []))
    if overlap:
        raise LabelsError(f"{path}: {rubric_id}: in both dev and heldout: {', '.join(sorted(overlap))}")
    return out


def load_transcripts(folder: str | Path) -> tuple[dict[str, Transcript], list[str]]:
    """Every *.json transcript in `folder`, by id and by file stem; unreadable ones become warnings."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LabelsError(f"{folder}: not a folder of transcript JSON files")
    found: dict[str, Transcript] = {}
    warnings: list[str] = []
    for path in sorted(folder.glob("*.json")):
        try:
            t = load(path)
        except TranscriptError as exc:
            warnings.append(f"skipped: {exc}")
            continue
        found.setdefault(t.id, t)
        found.setdefault(path.stem, t)
    return found, warnings


def evaluate(
    rubric: Rubric,
    transcripts: dict[str, Transcript],
    labels: dict[str, dict[str, int]],
    grader: Grader | None = None,
) -> Agreement:
    grader = grader or Grader(rubric)
    item_ids = [i.id for i in rubric.items()]
    kinds = {i.id: i.kind for i in rubric.items()}
    warnings: list[str] = []
    grades: dict[str, Grade] = {}
    for tid in labels:
        if tid not in transcripts:
            warnings.append(f"no transcript for labelled id {tid!r}; skipped")
            continue
        grades[tid] = grader.grade(transcripts[tid])
    unknown = sorted({i for items in labels.values() for i in items} - set(item_ids))
    if unknown:
        warnings.append(f"labels for items not in rubric {rubric.id}: {', '.join(unknown)}; ignored")
    results: list[ItemAgreement] = []
    for item in item_ids:
        human: list[int] = []
        machine: list[int] = []
        wrong: list[dict[str, Any]] = []
        for tid, grade in grades.items():
            if item not in labels[tid]:
                continue
            ig = grade.item(item)
            h, m = labels[tid][item], int(ig.met)
            human.append(h)
            machine.append(m)
            if h != m:
                wrong.append({"transcript": tid, "human": h, "grader": m, "rationale": ig.rationale})
        if not human:
            continue
        kappa = cohen_kappa(human, machine)
        note = ""
        if len(set(human)) == 1:
            kappa = None
            note = f"human labels are all {human[0]}: kappa undefined, see accuracy"
        elif kappa is None:
            note = "kappa undefined"
        accuracy = sum(1 for h, m in zip(human, machine, strict=True) if h == m) / len(human)
        pairs = list(zip(human, machine, strict=True))
        results.append(
            ItemAgreement(
                item,
                len(human),
                kappa,
                accuracy,
                sum(human),
                sum(machine),
                note,
                wrong,
                ac1=gwet_ac1(human, machine),
                tp=pairs.count((1, 1)),
                fp=pairs.count((0, 1)),
                fn=pairs.count((1, 0)),
                tn=pairs.count((0, 0)),
                fault=kinds[item] == Kind.fault,
            )
        )
    return Agreement(rubric.id, len(grades), results, warnings)
