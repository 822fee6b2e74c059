"""Validate the labelled development set and print per-item counts.

Usage: python eval/check_labels.py
Reads labels/<rubric>.json and every labels/<rubric>/*.json (the adjudicated batches).
Checks: every label file parses; no id is labelled in two files; every labelled id exists as a transcript; every
rubric item is present; labels are 0/1; evidence turns are in range, are learner
turns, and are non-empty exactly when label == 1.
"""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _primock():
    """shared/ sits beside the checkout (../shared), or beside the folder of worktrees (../../shared)."""
    for up in (("..", ".."), ("..", "..", "..")):
        path = os.path.normpath(os.path.join(HERE, *up, "shared", "data", "primock57", "transcripts"))
        if os.path.isdir(path):
            return path
    return os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "primock57", "transcripts"))


PRIMOCK = _primock()


def dev_ids(rubric):
    """The rubric's development ids in splits.yaml (the counts are printed for these only: held-out labels are
    checked but not summarised), or None when there is no split file."""
    path = os.path.join(HERE, "splits.yaml")
    if not os.path.isfile(path):
        return None
    import yaml

    with open(path, encoding="utf-8") as f:
        return set((yaml.safe_load(f) or {}).get(rubric, {}).get("dev", []))

ITEMS = {
    "history_taking": "greets_and_introduces confirms_identity open_question onset_duration symptom_character "
    "associated_symptoms past_medical_history medications allergies family_history smoking alcohol "
    "social_context ideas_concerns_expectations summarises invites_questions safety_netting".split(),
    "breaking_bad_news": "setting_up perception invitation warning_shot knowledge_plain_language "
    "checks_understanding acknowledges_emotion strategy_next_steps summarises uses_jargon_unexplained".split(),
    "cultural_competence": "explanatory_model beliefs_and_practices acknowledges_without_dismissing "
    "language_and_interpreter family_involvement explains_plainly negotiates_plan stereotyping".split(),
}
TRANSCRIPT_DIRS = {
    "history_taking": [PRIMOCK],
    "breaking_bad_news": [os.path.join(HERE, "transcripts", "breaking_bad_news")],
    "cultural_competence": [os.path.join(HERE, "transcripts", "cultural_competence")],
}


def load_transcripts(dirs):
    out = {}
    for d in dirs:
        for f in glob.glob(os.path.join(d, "*.json")):
            t = json.load(open(f, encoding="utf-8"))
            out[t["id"]] = t
    return out


def main():
    errors = []
    for rubric, items in ITEMS.items():
        files = [os.path.join(HERE, "labels", f"{rubric}.json")]
        files += sorted(glob.glob(os.path.join(HERE, "labels", rubric, "*.json")))
        labels = {}
        for path in files:
            for tid, per_item in json.load(open(path, encoding="utf-8")).items():
                if tid in labels:
                    errors.append(f"{rubric}: {tid} is labelled in two files (again in {os.path.basename(path)})")
                labels[tid] = per_item
        transcripts = load_transcripts(TRANSCRIPT_DIRS[rubric])
        for tid, per_item in labels.items():
            if tid not in transcripts:
                errors.append(f"{rubric}: unknown transcript id {tid}")
                continue
            turns = transcripts[tid]["turns"]
            if set(per_item) != set(items):
                errors.append(f"{rubric}/{tid}: items differ: {set(items) ^ set(per_item)}")
            for item, lab in per_item.items():
                if lab.get("label") not in (0, 1):
                    errors.append(f"{rubric}/{tid}/{item}: label {lab.get('label')!r}")
                if bool(lab.get("turns")) != (lab.get("label") == 1):
                    errors.append(f"{rubric}/{tid}/{item}: evidence turns must be given iff label is 1")
                for i in lab.get("turns", []):
                    if not (0 <= i < len(turns)) or turns[i]["role"] != "learner":
                        errors.append(f"{rubric}/{tid}/{item}: turn {i} is not a learner turn")
                if not lab.get("note"):
                    errors.append(f"{rubric}/{tid}/{item}: missing note")
        dev = dev_ids(rubric)
        shown = {k: v for k, v in labels.items() if dev is None or k in dev}
        print(f"\n{rubric}: {len(labels)} transcripts in {len(files)} files; counts for the {len(shown)} dev ones")
        print(f"  {'item':34s} ones zeros")
        for item in items:
            ones = sum(v[item]["label"] for v in shown.values() if item in v)
            print(f"  {item:34s} {ones:4d} {len(shown) - ones:5d}")
    if errors:
        print("\nERRORS:", *errors, sep="\n  ")
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
