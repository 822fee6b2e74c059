"""The transcript JSON contract (design.md): read, validate and write.

    {"id": "...", "persona": "optional id",
     "turns": [{"role": "learner" | "patient", "text": "...", "start": 0.0, "end": 2.1}, ...]}

Extra fields are kept on read and written back. `start`/`end` are optional seconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vpatient.errors import PathError, TranscriptError
from vpatient.files import read_text, write_private
from vpatient.terminal import finite

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
        raise TranscriptError(f"{where}: must be a number of seconds (got {_short(value)})")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        raise TranscriptError(f"{where}: must be a finite number of seconds (got {_short(value)})")
    return seconds


def _short(value: Any) -> str:
    """repr() of a value for a message, cut short (a transcript may hold anything)."""
    text = (
        repr(value) if not isinstance(value, int) or abs(value) < 10**50 else f"a {len(str(abs(value)))}-digit number"
    )
    return text if len(text) <= 80 else text[:77] + "..."


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
        raise TranscriptError(f"{source}: id: must be a string (got {_short(tid)})")
    persona = data.get("persona")
    if persona is not None and not isinstance(persona, str):
        raise TranscriptError(f"{source}: persona: must be a string (got {_short(persona)})")
    turns: list[Turn] = []
    for i, raw in enumerate(turns_data):
        where = f"{source}: turns[{i}]"
        if not isinstance(raw, dict):
            raise TranscriptError(f"{where}: must be an object with 'role' and 'text'")
        role = raw.get("role")
        if role not in ROLES:
            raise TranscriptError(f"{where}.role: {_short(role)} is not 'learner' or 'patient'")
        text = raw.get("text")
        if not isinstance(text, str):
            raise TranscriptError(f"{where}.text: missing or not a string (got {_short(text)})")
        start = _number(raw.get("start"), f"{where}.start")
        end = _number(raw.get("end"), f"{where}.end")
        if start is not None and end is not None and end < start:
            raise TranscriptError(f"{where}: end ({end}) is before start ({start})")
        meta = {k: v for k, v in raw.items() if k not in ("role", "text", "start", "end")}
        turns.append(Turn(role=role, text=text, start=start, end=end, meta=meta))
    extra = {k: v for k, v in data.items() if k not in ("id", "persona", "turns")}
    return Transcript(id=str(tid), turns=turns, persona=persona, extra=extra)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; write a finite number")


def loads(text: str, *, source: str = "transcript") -> Transcript:
    """Decode and validate transcript JSON text; every problem is a TranscriptError naming `source`."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise TranscriptError(f"{source}: nested too deeply to be a transcript; check the file") from exc
    except ValueError as exc:  # NaN/Infinity, or an integer with thousands of digits
        raise TranscriptError(f"{source}: not a usable transcript ({exc}); check the file") from exc
    try:
        return from_json(data, source=source)
    except RecursionError as exc:
        raise TranscriptError(f"{source}: nested too deeply to be a transcript; check the file") from exc


def load(path: str | Path) -> Transcript:
    try:
        text = read_text(path, what="transcript file")
    except PathError as exc:
        raise TranscriptError(str(exc)) from exc
    return loads(text, source=str(path))


def save(transcript: Transcript, path: str | Path) -> None:
    """Write atomically (temp file + rename, so a crash never leaves half a file), readable by the owner only."""
    try:
        text = json.dumps(transcript.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:  # a NaN in some meta field: write it as null rather than invalid JSON
        text = json.dumps(finite(transcript.to_json()), indent=2, ensure_ascii=False) + "\n"
    write_private(path, text, what="transcript file")
