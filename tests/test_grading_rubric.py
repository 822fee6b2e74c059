"""Rubric files: schema, FILE:LINE errors, the shipped rubrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from vpatient.errors import FileProblemError
from vpatient.grading.rubric import load_rubric, load_rubric_file, resolve, summary
from vpatient.grading.schema import Kind

REQUIRED = {
    "history_taking": """greets_and_introduces confirms_identity open_question onset_duration
        symptom_character associated_symptoms past_medical_history medications allergies family_history
        smoking alcohol social_context
        ideas_concerns_expectations summarises invites_questions safety_netting""",
    "breaking_bad_news": """setting_up perception invitation warning_shot knowledge_plain_language
        checks_understanding
        acknowledges_emotion strategy_next_steps summarises uses_jargon_unexplained""",
    "cultural_competence": """explanatory_model beliefs_and_practices acknowledges_without_dismissing
        language_and_interpreter family_involvement explains_plainly negotiates_plan stereotyping""",
}
FAULTS = {"uses_jargon_unexplained", "stereotyping"}

GOOD = """\
schema_version: 1
id: mini
title: Mini rubric
pass_mark: 50
sections:
  - id: main
    title: Main
    items:
      - id: smoking
        description: Asks about smoking.
        evidence:
          acts: [question]
          patterns: ['\\bsmok']
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(FileProblemError) as info:
        load_rubric_file(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("rid", sorted(REQUIRED))
def test_shipped_rubrics_load_with_the_required_item_ids(rid: str) -> None:
    rubric = load_rubric(ROOT / "rubrics" / f"{rid}.yaml")
    ids = {i.id for i in rubric.items()}
    assert set(REQUIRED[rid].split()) <= ids
    assert {i.id for i in rubric.items() if i.kind == Kind.fault} == FAULTS & ids
    assert all(i.feedback.met and i.feedback.missed for i in rubric.items())


def test_rubric_ids_resolve_to_the_shipped_files() -> None:
    assert resolve("history_taking").resolve() == (ROOT / "rubrics" / "history_taking.yaml").resolve()
    with pytest.raises(FileProblemError, match=r"unknown rubric id; use a file path or one of: .*history_taking"):
        resolve("no_such_rubric")


def test_a_minimal_rubric_loads(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    rubric = load_rubric_file(path)
    assert rubric.items()[0].kind == Kind.behaviour and rubric.items()[0].marks == 1.0
    assert "smoking (1): Asks about smoking." in summary(rubric)


def test_unknown_key_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    text = GOOD.replace("          patterns:", "          pattern:")
    out = problems(tmp_path, text)
    assert len(out) == 1
    assert out[0].startswith(f"{tmp_path / 'r.yaml'}:13: sections[0].items[0].evidence.pattern: unknown key 'pattern';")
    assert "did you mean 'patterns'?" in out[0]


def test_bad_kind_and_bad_regex_and_unknown_reference(tmp_path: Path) -> None:
    text = GOOD.replace("        description:", "        kind: mistake\n        description:")
    assert any(
        ":10: sections[0].items[0].kind: 'mistake' is not one of behaviour or fault; use one of those" in p
        for p in problems(tmp_path, text)
    )
    text = GOOD.replace("['\\bsmok']", "['(smok']")
    assert any(
        ":13: sections[0].items[0].evidence.patterns[0]: '(smok': not a valid regular expression" in p
        for p in problems(tmp_path, text)
    )
    text = GOOD.replace("          acts: [question]", "          acts: [question]\n          before: news_given")
    assert any(
        ":13: sections[0].items[0].evidence.before: unknown event or item 'news_given'; use one of: smoking" in p
        for p in problems(tmp_path, text)
    )


def test_duplicate_ids_and_empty_evidence_are_refused(tmp_path: Path) -> None:
    item = GOOD[GOOD.index("      - id: smoking") :]
    out = problems(tmp_path, GOOD + item)
    assert any(":14: sections[0].items[1].id: duplicate id 'smoking'" in p for p in out)
    text = GOOD.replace("          acts: [question]\n          patterns: ['\\bsmok']\n", "          speaker: learner\n")
    assert any("evidence: nothing to match: give at least one of acts" in p for p in problems(tmp_path, text))


def test_ordering_cycles_are_refused(tmp_path: Path) -> None:
    text = (
        GOOD.replace("          acts: [question]", "          acts: [question]\n          before: alcohol")
        + """\
      - id: alcohol
        description: Asks about alcohol.
        evidence:
          after: smoking
          before: smoking
          patterns: ['alcohol']
"""
    )
    assert any("go round in a circle" in p for p in problems(tmp_path, text))


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    out = problems(tmp_path, GOOD.replace("title: Main", "title: [Main"))
    assert out and ": YAML syntax error:" in out[0] and f"{tmp_path / 'r.yaml'}:" in out[0]
