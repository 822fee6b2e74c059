"""Accounts of the web app: users with argon2-hashed passwords and a role, cohorts (students in them,
assessors assigned to them), the cases assigned to a cohort, and the logins of browsers.

A password is never stored: only its argon2id hash (argon2-cffi). A login cookie is never stored either:
only the sha256 of its random token, with the CSRF token of that login and its expiry.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from vpatient.errors import UsageError
from vpatient.store import Store
from vpatient.store.tables import CaseAssignmentRow, CohortRow, LoginRow, MemberRow, UserRow

ROLES = ("student", "assessor", "faculty", "admin")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
"""User and cohort names: letters, digits and . _ @ - (they appear in URLs, CSV files and xAPI accounts)."""
MIN_PASSWORD = 8
LOGIN_HOURS = 12


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _hasher() -> Any:
    try:
        from argon2 import PasswordHasher
    except ImportError as exc:
        from vpatient.errors import ModelUnavailableError

        raise ModelUnavailableError("accounts need argon2-cffi (the serve extra): pip install -e '.[serve]'") from exc
    return PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short ({len(password)} characters); give at least {MIN_PASSWORD}")
    return str(_hasher().hash(password))


def check_name(name: str, what: str = "user name") -> str:
    if not NAME.match(name):
        raise UsageError(
            f"{name!r} is not a usable {what}: use letters, digits and . _ @ - (at most 100, starting with a "
            "letter or digit)"
        )
    return name


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    active: bool = True
    cohorts: tuple[str, ...] = ()
    """Cohorts this user is a student of."""
    assesses: tuple[str, ...] = ()
    """Cohorts this user is assigned to as an assessor."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "active": self.active,
            "cohorts": list(self.cohorts),
            "assesses": list(self.assesses),
        }


@dataclass(frozen=True)
class Login:
    """A signed-in browser: who, and the CSRF token its state-changing requests must carry."""

    user: User
    csrf: str
    expires_at: datetime = field(compare=False)


class Accounts:
    """Users, cohorts, assignments and logins in the session store's database."""

    def __init__(self, store: Store):
        self.store = store

    # ------------------------------------------------------------------ users
    def add_user(self, name: str, role: str, password: str, *, cohort: str | None = None) -> User:
        check_name(name)
        if role not in ROLES:
            raise UsageError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if cohort and role == "admin":
            raise UsageError("an admin is not a member of a cohort; leave out --cohort")
        if cohort:
            check_name(cohort, "cohort name")
        hashed = hash_password(password)
        with self.store._mapped("add a user"), self.store._write() as db, db.begin():
            if db.scalar(select(UserRow).where(UserRow.name == name)) is not None:
                raise UsageError(f"there is already a user {name!r}; `vpatient users list` shows them")
            db.add(UserRow(name=name, role=role, password=hashed, active=True, created_at=_now()))
        if cohort:
            self.assign(name, cohort)
        return self.user(name)

    def set_password(self, name: str, password: str) -> None:
        hashed = hash_password(password)
        with self.store._mapped("change a password"), self.store._write() as db, db.begin():
            row = db.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UsageError(f"no user {name!r}")
            row.password = hashed
            db.execute(delete(LoginRow).where(LoginRow.user_id == row.id))  # signed out everywhere

    def set_active(self, name: str, active: bool) -> None:
        with self.store._mapped("change a user"), self.store._write() as db, db.begin():
            row = db.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UsageError(f"no user {name!r}")
            row.active = active
            if not active:
                db.execute(delete(LoginRow).where(LoginRow.user_id == row.id))

    def _user(self, db: Any, row: UserRow) -> User:
        pairs = db.execute(
            select(CohortRow.name, MemberRow.kind)
            .join(MemberRow, MemberRow.cohort_id == CohortRow.id)
            .where(MemberRow.user_id == row.id)
            .order_by(CohortRow.name)
        ).all()
        return User(
            row.id,
            row.name,
            row.role,
            bool(row.active),
            tuple(n for n, k in pairs if k == "learner"),
            tuple(n for n, k in pairs if k == "assessor"),
        )

    def user(self, name: str) -> User:
        with self.store._mapped("read a user"), self.store._db() as db:
            row = db.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UsageError(f"no user {name!r}; `vpatient users list` shows them")
            return self._user(db, row)

    def users(self) -> list[User]:
        with self.store._mapped("list users"), self.store._db() as db:
            return [self._user(db, r) for r in db.scalars(select(UserRow).order_by(UserRow.name)).all()]

    def verify(self, name: str, password: str) -> User | None:
        """The active user with this name and password, else None (the same work is done for an unknown
        name, so timing does not tell which names exist)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        hasher = _hasher()
        with self.store._mapped("check a password"), self.store._db() as db:
            row = db.scalar(select(UserRow).where(UserRow.name == name))
            stored = row.password if row is not None else _DUMMY.get()
            try:
                hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if row is None or not row.active:
                return None
            return self._user(db, row)

    # ------------------------------------------------------------------ cohorts
    def _cohort(self, db: Any, name: str, *, create: bool) -> CohortRow:
        row = db.scalar(select(CohortRow).where(CohortRow.name == name))
        if row is None:
            if not create:
                raise UsageError(f"no cohort {name!r}")
            check_name(name, "cohort name")
            row = CohortRow(name=name, created_at=_now())
            db.add(row)
            db.flush()
        return row

    def assign(self, name: str, cohort: str) -> User:
        """Put a student in a cohort, or assign an assessor (or faculty member) to review it. The cohort is
        created when it is new."""
        with self.store._mapped("assign a cohort"), self.store._write() as db, db.begin():
            user = db.scalar(select(UserRow).where(UserRow.name == name))
            if user is None:
                raise UsageError(f"no user {name!r}; `vpatient users list` shows them")
            if user.role == "admin":
                raise UsageError("an admin is not a member of a cohort")
            kind = "learner" if user.role == "student" else "assessor"
            row = self._cohort(db, cohort, create=True)
            exists = db.scalar(
                select(MemberRow).where(
                    MemberRow.cohort_id == row.id, MemberRow.user_id == user.id, MemberRow.kind == kind
                )
            )
            if exists is None:
                db.add(MemberRow(cohort_id=row.id, user_id=user.id, kind=kind))
        return self.user(name)

    def cohorts(self) -> list[str]:
        with self.store._mapped("list cohorts"), self.store._db() as db:
            return list(db.scalars(select(CohortRow.name).order_by(CohortRow.name)).all())

    def members(self, cohort: str) -> list[str]:
        """The students of a cohort."""
        with self.store._mapped("read a cohort"), self.store._db() as db:
            row = self._cohort(db, cohort, create=False)
            return list(
                db.scalars(
                    select(UserRow.name)
                    .join(MemberRow, MemberRow.user_id == UserRow.id)
                    .where(MemberRow.cohort_id == row.id, MemberRow.kind == "learner")
                    .order_by(UserRow.name)
                ).all()
            )

    def assign_case(self, cohort: str, persona_id: str, by: str) -> None:
        with self.store._mapped("assign a case"), self.store._write() as db, db.begin():
            row = self._cohort(db, cohort, create=True)
            exists = db.scalar(
                select(CaseAssignmentRow).where(
                    CaseAssignmentRow.cohort_id == row.id, CaseAssignmentRow.persona_id == persona_id
                )
            )
            if exists is None:
                db.add(CaseAssignmentRow(cohort_id=row.id, persona_id=persona_id, assigned_by=by, created_at=_now()))

    def unassign_case(self, cohort: str, persona_id: str) -> None:
        with self.store._mapped("remove a case assignment"), self.store._write() as db, db.begin():
            row = self._cohort(db, cohort, create=False)
            db.execute(
                delete(CaseAssignmentRow).where(
                    CaseAssignmentRow.cohort_id == row.id, CaseAssignmentRow.persona_id == persona_id
                )
            )

    def assigned_cases(self) -> dict[str, list[str]]:
        """cohort -> the case ids assigned to it."""
        with self.store._mapped("read case assignments"), self.store._db() as db:
            rows = db.execute(
                select(CohortRow.name, CaseAssignmentRow.persona_id)
                .join(CaseAssignmentRow, CaseAssignmentRow.cohort_id == CohortRow.id)
                .order_by(CohortRow.name, CaseAssignmentRow.persona_id)
            ).all()
        out: dict[str, list[str]] = {}
        for cohort, case in rows:
            out.setdefault(cohort, []).append(case)
        return out

    def learners_of(self, cohorts: tuple[str, ...] | list[str]) -> set[str]:
        """The students of these cohorts."""
        if not cohorts:
            return set()
        with self.store._mapped("read cohorts"), self.store._db() as db:
            return set(
                db.scalars(
                    select(UserRow.name)
                    .join(MemberRow, MemberRow.user_id == UserRow.id)
                    .join(CohortRow, CohortRow.id == MemberRow.cohort_id)
                    .where(CohortRow.name.in_(list(cohorts)), MemberRow.kind == "learner")
                ).all()
            )

    def cohorts_of_learners(self) -> dict[str, list[str]]:
        """student name -> the cohorts they are in."""
        with self.store._mapped("read cohorts"), self.store._db() as db:
            rows = db.execute(
                select(UserRow.name, CohortRow.name)
                .join(MemberRow, MemberRow.user_id == UserRow.id)
                .join(CohortRow, CohortRow.id == MemberRow.cohort_id)
                .where(MemberRow.kind == "learner")
                .order_by(CohortRow.name)
            ).all()
        out: dict[str, list[str]] = {}
        for user, cohort in rows:
            out.setdefault(user, []).append(cohort)
        return out

    # ------------------------------------------------------------------ logins
    def login(self, user: User, hours: float = LOGIN_HOURS) -> tuple[str, Login]:
        """A new login for `user`: the cookie token (given to the browser once, stored only hashed)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = _now()
        expires = now + timedelta(hours=hours)
        with self.store._mapped("sign in"), self.store._write() as db, db.begin():
            db.execute(delete(LoginRow).where(LoginRow.expires_at < now))
            db.add(LoginRow(token_hash=_digest(token), user_id=user.id, csrf=csrf, created_at=now, expires_at=expires))
        return token, Login(user, csrf, expires)

    def session_login(self, token: str) -> Login | None:
        """The login of this cookie token, if it is current and its user is active."""
        if not token or len(token) > 200:
            return None
        with self.store._mapped("read a login"), self.store._db() as db:
            row = db.get(LoginRow, _digest(token))
            if row is None or _aware(row.expires_at) < _now():
                return None
            user = db.get(UserRow, row.user_id)
            if user is None or not user.active:
                return None
            return Login(self._user(db, user), row.csrf, _aware(row.expires_at))

    def logout(self, token: str) -> None:
        with self.store._mapped("sign out"), self.store._write() as db, db.begin():
            db.execute(delete(LoginRow).where(LoginRow.token_hash == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _Dummy:
    """A hash to verify against when the name is unknown (made once, lazily)."""

    def __init__(self) -> None:
        self._hash: str | None = None

    def get(self) -> str:
        if self._hash is None:
            self._hash = str(_hasher().hash(secrets.token_urlsafe(16)))
        return self._hash


_DUMMY = _Dummy()
