"""The transcript JSON contract (design.md): read, validate and write.

    {"id": "...", "persona": "optional id",
     "turns": [{"role": "learner" | "patient", "text": "...", "start": 0.0, "end": 2.1}, ...]}

Extra fields are kept on read and written back. `start`/`end` are optional seconds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vpatient.errors import TranscriptError

Role = Literal["learner", "patient"]
ROLES = ("learner", "patient")


@dataclass
class Turn:
    role: Role
    text: str
    start: float | None = None
    end: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    """Extra fields (engine decisions, affect, audio files...), written beside the contract's keys."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "text": self.text}
        if self.start is not None:
            out["start"] = self.start
        if self.end is not None:
            out["end"] = self.end
        out.update({k: v for k, v in self.meta.items() if k not in out})
        return out


@dataclass
class Transcript:
    id: str
    turns: list[Turn] = field(default_factory=list)
    persona: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.persona is not None:
            out["persona"] = self.persona
        out["turns"] = [t.to_json() for t in self.turns]
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    def learner_turns(self) -> list[tuple[int, Turn]]:
        return [(i, t) for i, t in enumerate(self.turns) if t.role == "learner"]


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TranscriptError(f"{where}: must be a number of seconds (got {value!r})")
    return float(value)


def from_json(data: Any, *, source: str = "transcript") -> Transcript:
    """Validate a decoded transcript; errors name the source, the field and the turn position."""
    if not isinstance(data, dict):
        raise TranscriptError(f"{source}: the top level must be an object with 'id' and 'turns'")
    turns_data = data.get("turns")
    if not isinstance(turns_data, list):
        raise TranscriptError(f"{source}: turns: missing or not a list (got {type(turns_data).__name__})")
    tid = data.get("id")
    if tid is None:
        tid = Path(source).stem
    if not isinstance(tid, (str, int)):
        raise TranscriptError(f"{source}: id: must be a string (got {tid!r})")
    persona = data.get("persona")
    if persona is not None and not isinstance(persona, str):
        raise TranscriptError(f"{source}: persona: must be a string (got {persona!r})")
    turns: list[Turn] = []
    for i, raw in enumerate(turns_data):
        where = f"{source}: turns[{i}]"
        if not isinstance(raw, dict):
            raise TranscriptError(f"{where}: must be an object with 'role' and 'text'")
        role = raw.get("role")
        if role not in ROLES:
            raise TranscriptError(f"{where}.role: {role!r} is not 'learner' or 'patient'")
        text = raw.get("text")
        if not isinstance(text, str):
            raise TranscriptError(f"{where}.text: missing or not a string (got {text!r})")
        start = _number(raw.get("start"), f"{where}.start")
        end = _number(raw.get("end"), f"{where}.end")
        if start is not None and end is not None and end < start:
            raise TranscriptError(f"{where}: end ({end}) is before start ({start})")
        meta = {k: v for k, v in raw.items() if k not in ("role", "text", "start", "end")}
        turns.append(Turn(role=role, text=text, start=start, end=end, meta=meta))
    extra = {k: v for k, v in data.items() if k not in ("id", "persona", "turns")}
    return Transcript(id=str(tid), turns=turns, persona=persona, extra=extra)


def load(path: str | Path) -> Transcript:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    return from_json(data, source=str(path))


def save(transcript: Transcript, path: str | Path) -> None:
    """Write atomically (temp file + rename), so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(transcript.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
