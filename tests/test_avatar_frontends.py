"""The front ends the talk loop gets from make_frontend: none, desktop (offscreen) and vr (fallback)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
pytest.importorskip("pygame")

from vpatient.avatar import KINDS, FrontEnd, make_frontend
from vpatient.avatar.synth import speechlike


def test_none_keeps_state(chest_pain) -> None:  # type: ignore[no-untyped-def]
    with make_frontend("none", chest_pain) as av:
        assert type(av) is FrontEnd and av.kind == "none"
        av.set_state("thinking")
        assert av.state().mode == "thinking"
        duration = av.on_reply_audio(speechlike("Morning, doctor."), 16000, "Morning, doctor.", "anxious")
        assert duration > 0.3
        s = av.state()
        assert s.mode == "speaking" and s.subtitle == "Morning, doctor."
        av.on_interrupt()
        assert av.state().mode == "listening" and av.state().mouth_open == 0.0


def test_bad_audio_is_reported_not_raised(chest_pain) -> None:  # type: ignore[no-untyped-def]
    av = make_frontend("none", chest_pain)
    assert av.on_reply_audio(np.zeros(100, np.float32), 0, "Hello", "sad") == 0.0
    assert av.errors and "sample_rate" in av.errors[0]
    assert av.state().subtitle == "Hello" and av.state().emotion == "sad"


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="desktop, vr, none"):
        make_frontend("hologram")
    assert KINDS == ("desktop", "vr", "none")


def test_desktop_window_runs_offscreen(chest_pain) -> None:  # type: ignore[no-untyped-def]
    av = make_frontend("desktop", chest_pain, size=(320, 180), fps=60, offscreen=True)
    av.start()
    try:
        av.set_state("listening")
        av.on_reply_audio(speechlike("It's a tight pain in my chest."), 16000, "It's a tight pain.", "in_pain")
        deadline = time.monotonic() + 3.0  # the 3D patient on llvmpipe: slower on a loaded machine
        while av.stats.summary()["frames"] < 15 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert not av.closed and not av.errors
        assert av.renderer_kind in ("3d", "2d")  # type: ignore[attr-defined]
        summary = av.stats.summary()  # type: ignore[attr-defined]
        assert summary["frames"] >= 15 and summary["fps"] <= 66
        assert av.last_frame is not None  # type: ignore[attr-defined]
    finally:
        av.close()
    assert av.closed


def test_vr_without_runtime_falls_back_to_desktop(chest_pain, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("xr")
    monkeypatch.setenv("XR_RUNTIME_JSON", "/nonexistent/openxr_runtime.json")
    av = make_frontend("vr", chest_pain, size=(320, 180), offscreen=True, binding="egl")
    assert av.kind == "desktop"
    err = capsys.readouterr().err
    assert "no VR headset" in err and "desktop window instead" in err
    from vpatient.avatar.vr import XRUnavailable

    with pytest.raises(XRUnavailable, match="OpenXR runtime"):
        make_frontend("vr", chest_pain, fallback=False)
