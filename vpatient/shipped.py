"""Files shipped inside the package (so a wheel works anywhere): example personas, rubrics, the model manifest.

In a checkout, `personas/`, `rubrics/` and `models/` at the top level are links to these folders.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
PERSONAS = DATA / "personas"
RUBRICS = DATA / "rubrics"
MANIFEST = DATA / "models" / "manifest.yaml"
DEFAULT_PERSONA = PERSONAS / "chest_pain_exertional.yaml"


def personas() -> list[Path]:
    """Every shipped persona file."""
    return sorted(PERSONAS.glob("*.yaml"))


def persona_path(id_or_file: str) -> str:
    """A persona file path as given, or the shipped persona of that id (e.g. chest_pain_exertional)."""
    if Path(id_or_file).exists() or "/" in id_or_file or id_or_file.endswith((".yaml", ".yml")):
        return id_or_file
    shipped = PERSONAS / f"{id_or_file}.yaml"
    return str(shipped) if shipped.is_file() else id_or_file
