"""`vpatient bench avatar`: a short run of the real benchmark (scripted engine + offscreen window)."""

from __future__ import annotations

import pytest

pytest.importorskip("pygame")


@pytest.mark.slow
def test_bench_avatar_short_run() -> None:
    from vpatient.avatar.bench import bench_avatar

    r = bench_avatar(seconds=2.0, size=(640, 360), fps=30)
    assert r["errors"] == [] and r["frames"] >= 30
    assert 20 <= r["fps"] <= 31
    assert r["replies"] >= 1  # the consultation really ran alongside


def test_bench_cli_registered() -> None:
    import argparse

    from vpatient.cli.bench_cmd import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["bench", "avatar", "--seconds", "1", "--size", "320x180"])
    assert args.bench_action == "avatar" and args.size == "320x180"
