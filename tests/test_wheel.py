"""A wheel works outside the checkout: shipped personas, rubrics, model manifest and migrations are package data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]


def test_built_wheel_runs_demo_and_validates_shipped_personas_from_elsewhere(tmp_path: Path) -> None:
    # build from a copy, so that the checkout gets no build/ or egg-info folder
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "vpatient", src / "vpatient", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)]
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = wheels.glob("vpatient-*.whl")

    # a fresh environment that sees the dependencies (no download of torch again) but not the checkout
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    deps = sysconfig.get_path("purelib")  # a plain path: its .pth files (the editable checkout) are not run
    (site / "zz_dependencies.pth").write_text(deps + "\n")
    installed = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)]
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        VPATIENT_DB=f"sqlite:///{tmp_path / 'wheel.db'}", HF_HUB_OFFLINE="1", PATH=f"{venv / 'bin'}:/usr/bin:/bin"
    )
    where = _run([str(python), "-c", "import vpatient; print(vpatient.__file__)"], cwd=elsewhere, env=env)
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    vp = str(venv / "bin" / "vpatient")

    validated = _run([vp, "persona", "validate"], cwd=elsewhere, env=env)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stderr.count(": ok (") >= 6

    demo = _run([vp, "demo", "--text"], cwd=elsewhere, env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "rubric history_taking: " + str(site) in demo.stderr  # the shipped rubric, and it says so
    for name in ("transcript.json", "grade.json", "report.html"):
        assert (elsewhere / "out" / "demo" / name).is_file(), name

    models = _run([vp, "models"], cwd=elsewhere, env=env)
    assert models.returncode == 0, models.stdout + models.stderr
