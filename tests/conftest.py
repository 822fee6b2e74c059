from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PERSONAS = sorted((ROOT / "personas").glob("*.yaml"))


@pytest.fixture(autouse=True)
def _isolated_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's own session database."""
    monkeypatch.setenv("VPATIENT_DB", f"sqlite:///{tmp_path / 'vp.db'}")


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real packaged MiniLM model, loaded once per test run."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from vpatient.embeddings import default_embedder

    return default_embedder()


@pytest.fixture(scope="session")
def chest_pain():  # type: ignore[no-untyped-def]
    from vpatient.persona.loader import load_persona

    return load_persona(ROOT / "personas" / "chest_pain_exertional.yaml")


@pytest.fixture(scope="session")
def serve_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One `vpatient serve` process with the speech models, shared by the server and page tests."""
    pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')
    pytest.importorskip("faster_whisper", reason='needs the speech extra: pip install -e ".[speech]"')
    from serve_support import ServeProcess

    tmp = tmp_path_factory.mktemp("serve")
    # --open: these tests drive the consultation itself, anonymously (the web app's logins: test_webapp_*)
    server = ServeProcess(f"sqlite:///{tmp / 'serve.db'}", "--max-sessions", "6", "--open", log=tmp / "serve.log")
    server.db = f"sqlite:///{tmp / 'serve.db'}"  # type: ignore[attr-defined]
    yield server
    server.stop()
