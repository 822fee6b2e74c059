"""The model manifest (vpatient/data/models/manifest.yaml) and what of it is installed here."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from vpatient.persona.schema import Strict
from vpatient.shipped import MANIFEST
from vpatient.yamlfile import load_model


class ModelEntry(Strict):
    id: str = Field(description="Model id.")
    role: str = Field(pattern=r"^(embeddings|llm|stt|tts)$", description="embeddings, llm, stt or tts.")
    default: bool = Field(description="Whether this is the embedded default of its role.")
    package: str = Field(description="pip (or apt) package that ships it; empty when none.")
    module: str = Field(description="Python module to look for; empty for non-Python packages or endpoints.")
    install: str = Field(description="The exact install command.")
    licence: str = Field(description="Licence of the weights and the package.")
    size_mb: float = Field(ge=0, description="Approximate download size.")
    notes: str = Field(default="", description="What it is used for.")
    alias: str = Field(default="", description="Short name for --model (e.g. qwen).")
    file: str = Field(default="", description="For models joined into the user's model folder: the file name there.")


class Manifest(Strict):
    schema_version: int = Field(description="Write 1.")
    models: list[ModelEntry]


@dataclass
class ModelStatus:
    entry: ModelEntry
    installed: bool
    location: str


def status(manifest_path: Path = MANIFEST) -> list[ModelStatus]:
    manifest = load_model(manifest_path, Manifest, what="model manifest")
    out: list[ModelStatus] = []
    for m in manifest.models:
        if m.file:
            from vpatient.model_install import models_dir

            path = models_dir() / m.file
            out.append(ModelStatus(m, path.is_file(), str(path) if path.is_file() else ""))
        elif m.module:
            spec = importlib.util.find_spec(m.module)
            loc = ""
            if spec is not None:
                loc = str(spec.submodule_search_locations[0]) if spec.submodule_search_locations else str(spec.origin)
            out.append(ModelStatus(m, spec is not None, loc))
        elif m.package and m.install.startswith("apt-get"):
            exe = shutil.which(m.package)
            out.append(ModelStatus(m, exe is not None, exe or ""))
        else:
            out.append(ModelStatus(m, True, "configured at run time"))
    return out
