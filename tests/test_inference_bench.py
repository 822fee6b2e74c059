"""`vpatient bench inference`: the report's shape (a contract for scripts), on a fake and on the tiny
transformers model through the real command line. No timed asserts."""

from __future__ import annotations

import json

import pytest

from vpatient.cli import main
from vpatient.inference.bench import percentile, run_bench
from vpatient.inference.fake import FakeStepRunner


def check_mode(mode: dict[str, object]) -> None:
    assert isinstance(mode["tokens_per_s"], float) and mode["tokens_per_s"] > 0
    for key in ("first_token_ms", "reply_ms"):
        stats = mode[key]
        assert isinstance(stats, dict) and set(stats) >= {"p50", "p95"} and stats["p50"] <= stats["p95"]


def test_report_shape_on_a_fake() -> None:
    report = run_bench(FakeStepRunner(max_batch_size=8), [1, 3], turns=2, max_tokens=5)
    assert report["backend"] == "fake" and report["model"] == "fake-step"
    assert [r["sessions"] for r in report["results"]] == [1, 3]
    for row in report["results"]:
        check_mode(row["batched"])
        check_mode(row["sequential"])
        assert row["batched"]["replies"] == row["sequential"]["replies"] == row["sessions"] * 2
        assert row["speedup"] > 0


@pytest.mark.slow
def test_command_line_json_on_the_tiny_transformers_model(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "bench",
        "inference",
        "--backend",
        "transformers",
        "--model",
        "tiny",
        "--sessions",
        "1,2",
        "--turns",
        "1",
        "--max-tokens",
        "4",
        "--threads",
        "1",
        "--json",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == "transformers" and report["model"] == "tiny"
    assert [r["sessions"] for r in report["results"]] == [1, 2]
    check_mode(report["results"][1]["batched"])


def test_bad_session_list_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "inference", "--sessions", "1,x"]) == 2
    assert "whole numbers" in capsys.readouterr().err


def test_percentile() -> None:
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
