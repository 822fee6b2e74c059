"""Grades that live with the sessions: grade a stored session (or one just finished), store the grade with
the rubric's id and content hash and the grader version, and rescore stored sessions after a rubric change.

The default rubric of a session is the one for its persona's scenario (a rubric whose id is the scenario,
e.g. history_taking, else one whose `scenario` field names it). A rescore never replaces a grade: it adds
one, so the history of a session's grades stays in the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpatient.embeddings import Embedder
from vpatient.errors import FileProblemError, UsageError, VPatientError
from vpatient.files import read_bytes
from vpatient.grading.grader import Grade, Grader
from vpatient.grading.review import UNCERTAIN_BELOW, recognition_json
from vpatient.grading.rubric import available, load_rubric_file, resolve
from vpatient.grading.schema import Rubric
from vpatient.store import GradeRecord, SessionRecord, Store
from vpatient.transcript import Transcript

_CODE = ("grading", "language")
"""Packages whose code decides a grade (hashed into the grader version)."""

_version: str | None = None


def grader_version() -> str:
    """vpatient's version and a digest of the grading code: equal versions graded with the same code."""
    global _version
    if _version is None:
        import vpatient

        root = Path(vpatient.__file__).parent
        h = hashlib.sha256()
        for package in _CODE:
            for path in sorted((root / package).glob("*.py")):
                h.update(f"{package}/{path.name}\0".encode())
                h.update(path.read_bytes())
        _version = f"{vpatient.__version__}+{h.hexdigest()[:12]}"
    return _version


@dataclass(frozen=True)
class RubricFile:
    """A loaded rubric with the file it came from and the sha256 of that file's bytes."""

    rubric: Rubric
    path: Path
    hash: str


def load(id_or_file: str | Path) -> RubricFile:
    path = resolve(id_or_file)
    digest = hashlib.sha256(read_bytes(path, what="rubric file")).hexdigest()
    return RubricFile(load_rubric_file(path), path, digest)


def scenario_of(session: SessionRecord) -> str | None:
    """The persona's scenario: recorded with the session, else read from its persona file (or the shipped
    persona of that id); None when neither can be read."""
    scenario = session.meta.get("scenario")
    if isinstance(scenario, str) and scenario:
        return scenario
    from vpatient.persona.loader import load_persona
    from vpatient.shipped import PERSONAS

    for candidate in (session.persona_path, str(PERSONAS / f"{session.persona_id}.yaml")):
        if candidate and Path(candidate).is_file():
            try:
                return str(load_persona(candidate).scenario)
            except VPatientError:
                continue
    return None


def rubric_for_scenario(scenario: str) -> Path:
    """The rubric file for a scenario: `<scenario>.yaml` among the rubrics, else one whose scenario field
    names it. UsageError when there is none."""
    known = available()
    if scenario in known:
        return known[scenario]
    for path in known.values():
        try:
            if load_rubric_file(path).scenario == scenario:
                return path
        except FileProblemError:
            continue
    raise UsageError(f"no rubric for the scenario {scenario!r}; give one with --rubric ID_OR_FILE")


def default_rubric(session: SessionRecord) -> Path:
    scenario = scenario_of(session)
    if scenario is None:
        raise UsageError(
            f"session {session.id}: cannot tell the scenario of persona {session.persona_id!r} (its file "
            f"{session.persona_path or '?'} cannot be read); give the rubric with --rubric ID_OR_FILE"
        )
    return rubric_for_scenario(scenario)


@dataclass
class Graded:
    """A grade, the JSON stored for it (the grade JSON plus recognition flags and provenance) and its id in
    the store (None when it was not stored)."""

    grade: Grade
    json: dict[str, Any]
    transcript: Transcript
    rubric: RubricFile
    grade_id: int | None = None
    warnings: list[str] = field(default_factory=list)


class SessionGrader:
    """Grades transcripts of stored sessions and stores the grades; one Grader per rubric file, reused."""

    def __init__(
        self,
        store: Store | None,
        *,
        embedder: Embedder | None = None,
        threshold: float = UNCERTAIN_BELOW,
        grader_factory: Callable[[Rubric], Grader] | None = None,
        judge: Any = None,
        judge_policy: str = "either",
    ):
        """`judge`: an optional LLMJudge (vpatient.grading.llm_judge) whose verdicts are combined with the
        rules under `judge_policy`; without one, grading is offline and deterministic."""
        self._store = store
        self.embedder = embedder
        self.threshold = threshold
        self._factory = grader_factory
        self.judge = judge
        self.judge_policy = judge_policy
        self._graders: dict[tuple[Path, str], Grader] = {}

    @property
    def store(self) -> Store:
        if self._store is None:
            raise UsageError("grading stored sessions needs the session store")
        return self._store

    def grader(self, rubric: RubricFile) -> Grader:
        key = (rubric.path.resolve(), rubric.hash)
        if key not in self._graders:
            factory = self._factory or (lambda r: Grader(r, embedder=self.embedder))
            self._graders[key] = factory(rubric.rubric)
        return self._graders[key]

    def grade(self, transcript: Transcript, rubric: RubricFile) -> Graded:
        """Grade without storing (the JSON carries the recognition flags and provenance)."""
        grader = self.grader(rubric)
        g = grader.grade(transcript)
        record = None
        if self.judge is not None:
            from vpatient.grading.llm_judge import apply

            g, record = apply(g, grader, transcript, self.judge, self.judge_policy)
        payload = g.to_json()
        if record is not None:
            payload["judge"] = record
        payload["recognition"] = recognition_json(transcript, g, self.threshold)
        payload["rubric_hash"] = rubric.hash
        payload["grader_version"] = grader_version()
        return Graded(g, payload, transcript, rubric)

    def store_grade(self, graded: Graded, session_id: str, *, meta: dict[str, Any] | None = None) -> int:
        graded.grade_id = self.store.add_grade(
            session_id,
            graded.json,
            rubric_hash=graded.rubric.hash,
            rubric_path=str(graded.rubric.path),
            grader_version=grader_version(),
            meta=meta,
        )
        return graded.grade_id

    def grade_session(self, session_id: str, rubric: str | Path | None = None) -> Graded:
        """Grade a stored session (id or unique prefix) and store the grade. `rubric`: id or file; default:
        the rubric of the persona's scenario."""
        session = self.store.session(session_id)
        transcript = self.store.transcript(session.id)
        graded = self.grade(transcript, load(rubric if rubric is not None else default_rubric(session)))
        if session.status != "ended":
            graded.warnings.append(f"session {session.id} is {session.status}: graded as far as it was stored")
        self.store_grade(graded, session.id)
        return graded

    def stale(self, rubric: str | Path | None = None) -> tuple[list[tuple[GradeRecord, RubricFile]], list[str]]:
        """Current grades whose rubric file changed since: (grade, the rubric as it is now) pairs, and the
        rubrics that cannot be found any more (one message each)."""
        wanted = load(rubric) if rubric is not None else None
        current = self.store.current_grades(rubric_id=wanted.rubric.id if wanted else None)
        found: dict[str, RubricFile | None] = {}
        problems: list[str] = []
        out: list[tuple[GradeRecord, RubricFile]] = []
        for record in current:
            if record.rubric_id not in found:
                found[record.rubric_id] = wanted or self._find(record, problems)
            now = found[record.rubric_id]
            if now is not None and now.hash != record.rubric_hash:
                out.append((record, now))
        return out, problems

    def _find(self, record: GradeRecord, problems: list[str]) -> RubricFile | None:
        """The rubric a stored grade used, as it is now: by id among the rubrics, else its stored file."""
        for candidate in (record.rubric_id, record.rubric_path):
            try:
                found = load(candidate)
            except (FileProblemError, VPatientError):
                continue
            if found.rubric.id == record.rubric_id:
                return found
        problems.append(
            f"rubric {record.rubric_id!r} (graded from {record.rubric_path or '?'}) is not found any more: its "
            "grades are left as they are; give the file with --rubric to rescore them"
        )
        return None

    def rescore(self, rubric: str | Path | None = None) -> tuple[list[Graded], list[str]]:
        """Grade again every stored session whose current grade used an older version of its rubric file; the
        old grades are kept. Returns the new grades and the problems (each session on its own)."""
        stale, problems = self.stale(rubric)
        done: list[Graded] = []
        for record, now in stale:
            try:
                transcript = self.store.transcript(record.session_id)
                graded = self.grade(transcript, now)
                self.store_grade(graded, record.session_id, meta={"rescore_of": record.id})
            except VPatientError as exc:
                problems.append(f"session {record.session_id}: {exc}")
                continue
            done.append(graded)
        return done, problems
