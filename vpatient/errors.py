"""The exception tree of vpatient.

    VPatientError                 base of everything vpatient raises on purpose
    +-- FileProblemError          a faculty file (persona, rubric, question file) is invalid;
    |                             carries one Problem per mistake, each printable as FILE:LINE: path: message
    +-- TranscriptError           a transcript JSON does not follow the contract (names field and position)
    +-- StoreError                the session database cannot be opened or written (disk full, read-only,
    |                             refused URL) or a session is unknown; SQLAlchemy errors are mapped to it
    |                             in vpatient.store
    +-- PathError                 a file or folder named by the user cannot be read or written (missing, a
    |                             folder, a FIFO or device, too big, not UTF-8); mapped in vpatient.files
    |   +-- AudioFileError        an audio file cannot be used (vpatient.speech.audio)
    +-- UsageError                command-line options that cannot work (a missing --endpoint, a model name
    |                             where a path is needed); the message names the option and the fix
    +-- ModelUnavailableError     a model or its package is not installed; the message says how to install it
    +-- BackendError              an inference backend failed a request; the persona engine catches this one,
        |                         answers in scripted mode and records why (`str(exc)`) with the turn
        +-- BackendUnavailableError   the backend cannot serve at all: its package or model is missing
        |                             (then it is also a ModelUnavailableError), or its endpoint refuses
        |                             connections
        +-- BackendCrashedError       the backend failed or died mid-generation (`partial_text` keeps
        |                             what came)
        +-- BackendTimeoutError       no complete reply within the request's timeout (`partial_text` likewise)
        +-- BackendOverloadedError    the inference core's queue is full; try again later

Inside a live session, failures are reported (recorded with the turn) rather than raised; only
start-up errors raise. The CLI catches VPatientError and prints its message (no traceback): every error
a user can cause is one of these, with a message that names the file or value and the fix.
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


class PathError(VPatientError):
    """A file or folder named by the user cannot be read or written as asked."""


class UsageError(VPatientError):
    """Command-line options that cannot work as given."""


class ModelUnavailableError(VPatientError):
    """A model, or the package that ships it, is not installed."""


class BackendError(VPatientError):
    """An inference backend failed a request. `partial_text` holds what was generated before the failure."""

    def __init__(self, message: str, *, backend: str = "", partial_text: str = ""):
        self.backend = backend
        self.partial_text = partial_text
        super().__init__(f"{backend}: {message}" if backend else message)


class BackendUnavailableError(BackendError, ModelUnavailableError):
    """The backend cannot serve: package or model missing, or endpoint unreachable."""


class BackendCrashedError(BackendError):
    """The backend raised, returned something unusable, or its process died mid-generation."""


class BackendTimeoutError(BackendError):
    """A request did not complete within its timeout (queue wait included)."""


class BackendOverloadedError(BackendError):
    """The inference core's waiting queue is full."""
