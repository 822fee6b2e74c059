"""`vpatient bench avatar`: a short run of the real benchmark (scripted engine + offscreen window)."""

from __future__ import annotations

import pytest

pytest.importorskip("pygame")


@pytest.mark.slow
def test_bench_avatar_short_run() -> None:
    from vpatient.avatar.bench import bench_avatar

    r = bench_avatar(seconds=3.0, size=(640, 360), fps=30, renderer="2d")  # time for a reply on a loaded machine
    assert r["errors"] == [] and r["frames"] >= 30 and r["renderer"] == "2d"
    assert 20 <= r["fps"] <= 31
    assert r["replies"] >= 1  # the consultation really ran alongside


@pytest.mark.slow
def test_bench_avatar_3d_short_run() -> None:
    """The 3D patient in the offscreen window while the consultation runs (frame rate depends on the
    machine: llvmpipe on 2 shared cores; `vpatient bench avatar` reports it)."""
    pytest.importorskip("moderngl")
    from vpatient.avatar.bench import bench_avatar
    from vpatient.avatar.desktop import can_render_3d

    why = can_render_3d()
    if why:
        pytest.skip(why)
    r = bench_avatar(seconds=2.0, size=(320, 180), fps=30, renderer="3d")
    assert r["errors"] == [] and r["renderer"] == "3d"
    assert r["frames"] >= 10 and 0 < r["fps"] <= 31


def test_bench_cli_registered() -> None:
    import argparse

    from vpatient.cli.bench_cmd import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["bench", "avatar", "--seconds", "1", "--size", "320x180", "--renderer", "2d"])
    assert args.bench_action == "avatar" and args.size == "320x180" and args.renderer == "2d"
