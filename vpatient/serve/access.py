"""Who may do what in the web app. One place for the rules, so that every route asks the same questions.

student    their own sessions (the ones whose learner is their user name); starts consultations
assessor   the sessions of the students of the cohorts assigned to them; overrides, rates, signs off
faculty    every session; overrides, rates, signs off; cases, case validation, case assignments,
           cohort exports
admin      users and cohort membership only (no transcripts: they are the students' personal data)
anonymous  (only with `vpatient serve --open`) the consultation page and the sessions that have no
           learner, by their id
"""

from __future__ import annotations

from dataclasses import dataclass

from vpatient.store.accounts import Accounts, User

REVIEWERS = ("assessor", "faculty")
STAFF_VIEW = ("assessor", "faculty")


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a signed-in user with the CSRF token of their login, or anonymous."""

    user: User | None = None
    csrf: str | None = None
    token: str | None = None

    @property
    def role(self) -> str:
        return self.user.role if self.user is not None else "anonymous"

    @property
    def name(self) -> str | None:
        return self.user.name if self.user is not None else None

    def is_(self, *roles: str) -> bool:
        return self.role in roles


@dataclass(frozen=True)
class Scope:
    """The sessions a caller may see: everything, the sessions of these learners, or anonymous ones only."""

    everything: bool = False
    learners: frozenset[str] = frozenset()
    anonymous: bool = False

    def allows(self, learner: str | None) -> bool:
        if learner is None:
            return self.everything or self.anonymous
        return self.everything or learner in self.learners


def scope(caller: Caller, accounts: Accounts, *, open_mode: bool) -> Scope:
    user = caller.user
    if user is None:
        return Scope(anonymous=open_mode)
    if user.role == "faculty":
        return Scope(everything=True)
    if user.role == "assessor":
        return Scope(learners=frozenset(accounts.learners_of(user.assesses)))
    if user.role == "student":
        return Scope(learners=frozenset({user.name}))
    return Scope()  # admin
