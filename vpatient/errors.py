"""The exception tree of vpatient.

    VPatientError                 base of everything vpatient raises on purpose
    +-- FileProblemError          a faculty file (persona, rubric, question file) is invalid;
    |                             carries one Problem per mistake, each printable as FILE:LINE: path: message
    +-- TranscriptError           a transcript JSON does not follow the contract (names field and position)
    +-- StoreError                the session database cannot be opened or a session is unknown
    +-- ModelUnavailableError     a model or its package is not installed; the message says how to install it

Inside a live session, failures are reported (recorded with the turn) rather than raised; only
start-up errors raise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in a file, located as precisely as the file allows."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class VPatientError(Exception):
    """Base of every error vpatient raises on purpose."""


class FileProblemError(VPatientError):
    """A faculty-written file is invalid; `problems` lists every mistake found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TranscriptError(VPatientError):
    """A transcript does not follow the transcript JSON contract."""


class StoreError(VPatientError):
    """The session store cannot be used as asked."""


class ModelUnavailableError(VPatientError):
    """A model, or the package that ships it, is not installed."""
