"""The `vpatient` command end to end, through subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PERSONAS, ROOT


def vp(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vpatient", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_persona_validate_ok_and_bad(tmp_path: Path) -> None:
    ok = vp("persona", "validate", *map(str, PERSONAS))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout == ""  # no errors and no warnings in the shipped personas
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nid: Bad Id\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    res = vp("persona", "validate", str(PERSONAS[0]), str(bad), str(empty))
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert f"{bad}:2: id: String should match pattern '^[a-z][a-z0-9_]*$' (got 'Bad Id')" in lines
    assert f"{empty}:1: persona file is empty; start from an example in personas/" in lines
    assert all(line.startswith((str(bad), str(empty))) for line in lines)


def test_persona_show_is_readable() -> None:
    res = vp("persona", "show", str(ROOT / "personas" / "chest_pain_exertional.yaml"))
    assert res.returncode == 0
    assert "Patient: Robert Hale, 58, male (he/him), Bus driver" in res.stdout
    assert "Learner's brief:" in res.stdout and " rapport:" in res.stdout


def test_chat_script_out_sessions_and_export(tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text("# comment lines are skipped\nHello, I'm Dr Ali. What brings you in?\nDo you smoke?\n")
    out = tmp_path / "t.json"
    env = {"VPATIENT_DB": f"sqlite:///{tmp_path / 'cli.db'}"}
    res = vp(
        "chat",
        "--persona",
        str(ROOT / "personas" / "chest_pain_exertional.yaml"),
        "--script",
        str(script),
        "--out",
        str(out),
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert "Robert Hale: I smoke about fifteen a day." in res.stdout
    t = json.loads(out.read_text())
    assert t["persona"] == "chest_pain_exertional"
    assert [x["role"] for x in t["turns"]] == ["learner", "patient", "learner", "patient"]
    assert t["turns"][3]["disclosed"] == ["smoking_history"]
    listed = json.loads(vp("sessions", "list", "--json", env=env).stdout)
    assert [s["id"] for s in listed] == [t["id"]]
    assert listed[0]["turns"] == 4 and listed[0]["status"] == "ended" and len(listed[0]["persona_hash"]) == 64
    exported = json.loads(vp("sessions", "export", t["id"], env=env).stdout)
    assert [x["text"] for x in exported["turns"]] == [x["text"] for x in t["turns"]]


def test_missing_persona_file_is_a_clear_error(tmp_path: Path) -> None:
    res = vp("chat", "--persona", str(tmp_path / "nope.yaml"), "--script", "/dev/null")
    assert res.returncode == 2
    assert "nope.yaml: no such persona file; check the path" in res.stderr


def test_eval_fidelity_json() -> None:
    res = vp("eval", "fidelity", "--persona", str(ROOT / "personas" / "chest_pain_exertional.yaml"), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["utterances"] >= 30
    assert {"recall", "leakage", "contradictions", "unsupported"} <= report.keys()
    assert len(report["turns"]) == report["utterances"]


def test_models_lists_every_role() -> None:
    res = vp("models", "--json")
    rows = json.loads(res.stdout)
    assert {r["role"] for r in rows} == {"embeddings", "llm", "stt", "tts"}
    emb = next(r for r in rows if r["role"] == "embeddings" and r["default"])
    assert emb["installed"] is True


def test_the_voice_demo_gives_talk_every_option_it_reads(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The demo calls `vpatient talk` in-process: every talk option must be there (a missing one, `server`,
    broke the README's first command once)."""
    import argparse

    from vpatient.cli import build_parser, demo_cmd, talk_cmd

    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(talk_cmd, "talk", lambda ns: seen.append(ns) or 0)
    args = build_parser().parse_args(["demo", "--out-dir", str(tmp_path)])
    assert demo_cmd._voice(args, "learner.txt") == 0
    talk_args = vars(build_parser().parse_args(["talk", "--script", "learner.txt"]))
    ns = vars(seen[0])
    assert set(talk_args) <= set(ns)
    assert ns["script"] == "learner.txt" and ns["out_dir"] == str(tmp_path) and ns["avatar"] == "none"
    assert ns["server"] is None
