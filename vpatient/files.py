"""The user's files at the boundary: bounded reads of regular files, private writes.

Reading: only regular files (a folder, FIFO or device such as /dev/zero is refused, never read), at most
`limit` bytes, UTF-8 checked. Writing: atomic (temp file + rename), readable by the owner only, in folders
created for the owner only; a folder given where a file is wanted is refused. Every OSError becomes a
`PathError` naming the file and the fix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vpatient.errors import PathError

TEXT_LIMIT = 10_000_000
"""Default largest text file read (scripts, transcripts): far above any real consultation."""


def read_bytes(path: str | Path, *, what: str = "file", limit: int = TEXT_LIMIT) -> bytes:
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise PathError(f"{p}: no such {what}; check the path") from exc
    except OSError as exc:
        raise PathError(f"{p}: cannot read the {what}: {exc.strerror}; check the path and its permissions") from exc
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise PathError(f"{p}: is a folder, not a file; give the path of the {what}")
        if not stat.S_ISREG(mode):
            raise PathError(f"{p}: not a regular file (a pipe or a device); give the path of the {what} on disk")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise PathError(f"{p}: cannot read the {what}: {exc.strerror}; check the path and its permissions") from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise PathError(f"{p}: the {what} is larger than {limit} bytes (the limit is {limit}); split or trim it")
    return data


def read_text(path: str | Path, *, what: str = "file", limit: int = TEXT_LIMIT) -> str:
    data = read_bytes(path, what=what, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PathError(
            f"{path}: the {what} is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8"
        ) from exc


def private_dir(path: str | Path, *, what: str = "output folder") -> Path:
    """Create the folder (and missing parents) for the owner only; an existing folder is left as it is."""
    p = Path(path)
    try:
        p.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise PathError(f"{p}: a file is in the way of the {what}; give the path of a folder") from exc
    except OSError as exc:
        raise PathError(f"{p}: cannot create the {what}: {exc.strerror}; give a writable folder") from exc
    return p


def check_writable_file(path: str | Path, *, what: str = "output file") -> Path:
    """Refuse, before any work is done, an output path that is a folder."""
    p = Path(path)
    if p.is_dir():
        raise PathError(f"{p}: is a folder; give a file name for the {what}, such as {p / 'out'}")
    return p


def write_private(path: str | Path, data: str | bytes, *, what: str = "output file") -> Path:
    """Write atomically (temp file + rename, so a crash never leaves half a file), mode 0600."""
    p = check_writable_file(path, what=what)
    private_dir(p.parent)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PathError(f"{p}: cannot write the {what}: {exc.strerror}; give a writable path") from exc
    return p
