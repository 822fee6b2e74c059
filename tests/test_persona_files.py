"""Persona files: the shipped examples are valid; mistakes give FILE:LINE: field: message with a fix."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import PERSONAS, ROOT
from vpatient.errors import FileProblemError
from vpatient.persona.loader import load_persona
from vpatient.persona.schema import Tier

GOOD = (ROOT / "personas" / "chest_pain_exertional.yaml").read_text()


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(FileProblemError) as info:
        load_persona(path)
    return [str(p) for p in info.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_personas_are_valid_and_rich() -> None:
    assert len(PERSONAS) >= 6
    scenarios = Counter()
    for path in PERSONAS:
        p = load_persona(path)
        scenarios[p.scenario] += 1
        assert len(p.facts) >= 25, f"{path.name}: {len(p.facts)} facts"
        assert any(f.negative for f in p.facts), f"{path.name} has no pertinent negatives"
        assert p.id == path.stem
        if p.scenario == "breaking_bad_news":
            assert p.bad_news is not None
    assert scenarios["history_taking"] >= 2
    assert scenarios["breaking_bad_news"] >= 2
    assert scenarios["cultural_competence"] >= 2


def test_wrong_tier_names_line_field_and_choices(tmp_path: Path) -> None:
    text = GOOD.replace("    tier: specific\n", "    tier: sometimes\n", 1)
    out = problems(tmp_path, text)
    line = line_of(text, "tier: sometimes")
    assert len(out) == 1
    assert out[0].startswith(f"{tmp_path / 'p.yaml'}:{line}: facts[")
    assert ".tier: 'sometimes' is not one of volunteered, on_ask, specific, rapport or never" in out[0]


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = GOOD.replace("    says: It's right in the middle", "    sayz: It's right in the middle", 1)
    out = problems(tmp_path, text)
    assert any("unknown key 'sayz'; did you mean 'says'?" in p for p in out)
    assert any(f":{line_of(text, 'sayz:')}: facts[1].sayz" in p for p in out)
    assert any("facts[1].says: missing required field; add 'says:'" in p for p in out)


def test_duplicate_fact_id(tmp_path: Path) -> None:
    text = GOOD.replace("  - id: pain_site\n", "  - id: pain_onset\n", 1)
    out = problems(tmp_path, text)
    assert len(out) == 1
    dup_line = [i for i, line in enumerate(text.splitlines(), 1) if "- id: pain_onset" in line][1]
    assert out[0].endswith("facts[1].id: duplicate id 'pain_onset' (also at facts.0); ids must be unique")
    assert f"p.yaml:{dup_line}:" in out[0]


def test_missing_required_field(tmp_path: Path) -> None:
    text = GOOD.replace("opening_line: Morning", "# opening_line: Morning", 1)
    out = problems(tmp_path, text)
    assert out == [
        f"{tmp_path / 'p.yaml'}:1: opening_line: missing required field; add 'opening_line:' "
        "(What the patient says when first invited to speak.)"
    ]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = GOOD.replace("title: Chest tightness when walking uphill", "title: Chest: tightness", 1)
    out = problems(tmp_path, text)
    assert out == [
        f"{tmp_path / 'p.yaml'}:{line_of(text, 'title: Chest: tightness')}: YAML syntax error: "
        "mapping values are not allowed here; check indentation and quoting on this line"
    ]


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    assert problems(tmp_path, "")[0].endswith("persona file is empty; start from an example in personas/")
    assert "holds no data" in problems(tmp_path, "# nothing here\n")[0]
    assert "must be a mapping" in problems(tmp_path, "- a\n- b\n")[0]


def test_unsafe_yaml_is_refused(tmp_path: Path) -> None:
    out = problems(tmp_path, "a: &x [1, 2]\nb: *x\n")
    assert "anchors and aliases" in out[0]
    out = problems(tmp_path, "a: !!python/object/apply:os.system ['echo hi']\n")
    assert "YAML syntax error" in out[0]


def test_absurd_size_is_refused(tmp_path: Path) -> None:
    out = problems(tmp_path, "# " + "x" * 1_100_000 + "\n")
    assert "the limit is 1000000" in out[0]


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = GOOD.replace("title: Chest tightness", "title: One\ntitle: Chest tightness", 1)
    out = problems(tmp_path, text)
    assert any("title: duplicate key (first at line" in p for p in out)


def test_dangling_reference_and_unreachable_statement(tmp_path: Path) -> None:
    text = GOOD.replace("    tier: specific\n", "    tier: specific\n    requires: [no_such_fact]\n", 1)
    out = problems(tmp_path, text)
    assert any("requires[0]: unknown id 'no_such_fact'" in p for p in out)


def test_tiers_present_in_examples() -> None:
    tiers = {s.tier for path in PERSONAS for s in load_persona(path).statements()}
    assert {Tier.volunteered, Tier.on_ask, Tier.specific, Tier.rapport} <= tiers


# ---------------------------------------------------------------- issue 15: faculty patterns and blank words
def test_keywords_are_checked_as_patterns(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - id: pain_onset\n", "  - id: pain_onset\n    keywords: ['chest (pain', '', '(a+)+$', 'breathless']\n", 1
    )
    out = problems(tmp_path, text)
    line = line_of(text, "keywords: ['chest (pain'")
    assert any(
        p.startswith(f"{tmp_path / 'p.yaml'}:{line}: facts[0].keywords[0]: 'chest (pain': not a valid regular")
        for p in out
    ), out
    assert any("facts[0].keywords[1]: '': an empty pattern matches every line" in p for p in out), out
    assert any("facts[0].keywords[2]: '(a+)+$': a quantified group" in p for p in out), out
    assert not any("keywords[3]" in p for p in out)


def test_circular_requires_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace("  - id: pain_onset\n", "  - id: pain_onset\n    requires: [pain_site]\n", 1)
    text = text.replace("  - id: pain_site\n", "  - id: pain_site\n    requires: [pain_onset]\n", 1)
    out = problems(tmp_path, text)
    assert any("facts[0].requires: circular requires (pain_onset -> pain_site -> pain_onset)" in p for p in out), out
    assert any("facts[1].requires: circular requires (pain_site -> pain_onset -> pain_site)" in p for p in out), out


def test_blank_says_is_refused(tmp_path: Path) -> None:
    says = "    says: It started about three weeks ago. I first noticed it walking up the hill to the depot.\n"
    text = GOOD.replace(says, "    says: '   '\n", 1)
    out = problems(tmp_path, text)
    line = line_of(text, "says: '   '")
    assert any(f":{line}: facts[0].says: blank: write what the patient says" in p for p in out), out


def test_empty_news_term_is_refused(tmp_path: Path) -> None:
    bad_news = (ROOT / "tests" / "data" / "mini_bad_news.yaml").read_text()
    text = bad_news.replace("news_terms: [cancer, tumour,", "news_terms: [cancer, '', ' ', tumour,", 1)
    assert text != bad_news
    out = problems(tmp_path, text)
    assert any("bad_news.news_terms[1]: empty term: it would count every line as the news" in p for p in out), out
    assert any("bad_news.news_terms[2]: empty term" in p for p in out), out


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "missing", "latin1", "deep"])
def test_unreadable_persona_files_are_problems_not_tracebacks(tmp_path: Path, kind: str) -> None:
    import os

    path = tmp_path / "p.yaml"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer for ever
    elif kind == "device":
        path = Path("/dev/zero")  # endless: its size from stat() is 0
    elif kind == "latin1":
        path.write_bytes(GOOD.replace("title: Chest tightness", "title: caf\xe9").encode("latin-1"))
    elif kind == "deep":
        path.write_text("schema_version: 1\nid: " + "[" * 50_000 + "\n")
    with pytest.raises(FileProblemError) as info:
        load_persona(path)
    [problem] = info.value.problems
    expected = {
        "folder": "is a folder",
        "fifo": "not a regular file",
        "device": "not a regular file",
        "missing": "no such persona file",
        "latin1": "not UTF-8",
        "deep": "nested more than",
    }[kind]
    assert expected in str(problem)
