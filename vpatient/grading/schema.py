"""The rubric file schema (faculty write these in YAML; `vpatient rubric schema` prints this reference).

A rubric has sections (each with a weight) of items. An item is a `behaviour` (met = the learner did it)
or a `fault` (met = the mistake happened). Faculty write an item as its definition (`description`),
example utterances that show it and counter-examples that look alike but do not count (both matched by
meaning), and optionally literal `phrases`; built-in detectors, dialogue acts, which speaker, where in the
consultation and ordering constraints against named events or other items refine it. Regular expressions
(`patterns`, `exclude`) are an advanced option, checked when the rubric is loaded (syntax, patterns that
match everything, catastrophic backtracking) and searched with a time limit (vpatient.patterns).
Unknown keys are refused so that a typo fails loudly. Version: SCHEMA_VERSION.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from vpatient.persona.schema import Strict

SCHEMA_VERSION = 1

ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class Kind(StrEnum):
    behaviour = "behaviour"
    """Met when the learner did it; earns its marks."""
    fault = "fault"
    """Met when the mistake happened; avoiding it earns its marks, committing it loses them."""


class Act(StrEnum):
    """Dialogue acts a matching utterance (clause) must carry; see vpatient.language."""

    question = "question"
    open_question = "open_question"
    closed_question = "closed_question"
    statement = "statement"
    empathy = "empathy"
    greeting = "greeting"
    introduction = "introduction"
    dismissal = "dismissal"
    invites_questions = "invites_questions"
    checks_understanding = "checks_understanding"
    safety_netting = "safety_netting"
    warning_shot = "warning_shot"
    summary_marker = "summary_marker"
    stereotyping = "stereotyping"
    respect = "respect"
    explanation = "explanation"


class Detector(StrEnum):
    """Built-in detectors for evidence that needs the conversation around an utterance."""

    greeting_and_introduction = "greeting_and_introduction"
    """A greeting and the learner's own name or role, in the learner's first turns."""
    summary = "summary"
    """A summary that restates at least two things the patient said (not examination findings)."""
    new_symptom_question = "new_symptom_question"
    """A question about a symptom the patient had not already raised."""
    jargon_unexplained = "jargon_unexplained"
    """Medical jargon used without being explained (in that turn or the learner's next one)."""
    plain_diagnosis = "plain_diagnosis"
    """The news/diagnosis named in plain words (cancer, tumour, spread...) in a statement."""
    delivers_diagnosis = "delivers_diagnosis"
    """The diagnosis named plainly (as plain_diagnosis) and not left unconfirmed: when the patient then asks
    outright whether it is that illness ('Is it cancer?') and the learner's answer neither confirms nor names
    it, the earlier naming did not deliver it clearly."""
    plain_explanation = "plain_explanation"
    """An explanation of the medical view with no unexplained jargon in that turn."""
    safety_net = "safety_net"
    belief_question = "belief_question"
    """A question about the patient's own remedies or self-care, or one following up a belief or practice
    the patient has just mentioned (what it means, whether it helps, what they would accept)."""
    """Conditional advice or when to come back / seek help, addressed to the patient (quotes the sentence)."""
    acknowledges_belief = "acknowledges_belief"
    """A respectful acknowledgement right after the patient shares a belief or practice, with no dismissal."""


class Speaker(StrEnum):
    learner = "learner"
    patient = "patient"
    any = "any"


class Evidence(Strict):
    """What counts as evidence for an item (or an event).

    An utterance (a clause of a turn) is evidence when it carries every act in `acts`, AND matches at
    least one of `any_acts`, `patterns`, `phrases`, `examples` (by meaning) or `detector` (when any of
    these is given), AND matches none of `exclude`, AND is not closer in meaning to one of
    `counter_examples` than to the examples, AND satisfies the position and ordering constraints.
    Detectors that look at whole turns (summary, jargon_unexplained, acknowledges_belief,
    greeting_and_introduction, safety_net) decide on their own and ignore `acts`.
    """

    speaker: Speaker = Field(default=Speaker.learner, description="Whose turns count: learner, patient or any.")
    acts: list[Act] = Field(
        default_factory=list,
        description="Dialogue acts the utterance must carry, all of them (e.g. [question]): "
        + ", ".join(a.value for a in Act)
        + ".",
    )
    any_acts: list[Act] = Field(
        default_factory=list,
        description="Acts of which one is enough to match (e.g. [invites_questions, checks_understanding]).",
    )
    detector: Detector | None = Field(
        default=None,
        description="A built-in detector that also counts as a match: " + ", ".join(d.value for d in Detector) + ".",
    )
    patterns: list[str] = Field(
        default_factory=list,
        description="Advanced: regular expressions (Python syntax, case-insensitive) searched in the utterance; "
        "checked at load time for errors and catastrophic backtracking, searched with a time limit. Prefer "
        "examples and phrases.",
    )
    phrases: list[str] = Field(
        default_factory=list,
        description="Literal words or phrases (case-insensitive, whole words) in the utterance.",
    )
    examples: list[str] = Field(
        default_factory=list,
        description="Example utterances; an utterance close in meaning (MiniLM cosine >= threshold) matches.",
    )
    counter_examples: list[str] = Field(
        default_factory=list,
        description="Utterances that look alike but do NOT count (from the definition's rulings, e.g. 'Are you "
        "using any contraception?' for medications). An utterance at least as close in meaning to a "
        "counter-example (cosine >= threshold) as to every example is not evidence, even if a phrase, pattern "
        "or detector matched it.",
    )
    threshold: float = Field(
        default=0.72, ge=0.3, le=1.0, description="Cosine similarity an utterance needs to match an example."
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Regular expressions that disqualify an utterance (e.g. 'what were you doing when').",
    )
    terms: list[str] = Field(
        default_factory=list,
        description="Extra words for the detector (jargon terms for jargon_unexplained, plain news words for "
        "plain_diagnosis).",
    )
    ignore_terms: list[str] = Field(
        default_factory=list,
        description="Words the detector must not count (e.g. jargon most patients know: 'chemotherapy').",
    )
    first_turns: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Only the speaker's first N turns count (e.g. 3 for the opening).",
    )
    after_fraction: float = Field(
        default=0.0,
        ge=0.0,
        lt=1.0,
        description="Only turns after this fraction of the consultation count (0.5 = the second half).",
    )
    before_fraction: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="Only turns before this fraction of the consultation count (0.3 = the first 30%, and at "
        "least the first 6 turns).",
    )
    before: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="An event or item id: the evidence must come before its first occurrence "
        "(if it never happens, everything counts as before).",
    )
    after: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="An event or item id: the evidence must come after its first occurrence "
        "(if it never happens, nothing counts).",
    )
    scope: Literal["clause", "turn"] = Field(
        default="clause",
        description="clause: patterns and examples are matched per clause (one question of several); "
        "turn: against the whole turn.",
    )


class Feedback(Strict):
    """Feedback shown to the student."""

    met: str = Field(default="", description="Shown when a behaviour was done (or a fault happened).")
    missed: str = Field(default="", description="Shown when a behaviour was missed (or a fault was avoided).")


class Item(Strict):
    """One thing the assessor marks."""

    id: str = Field(pattern=ID_PATTERN, description="Unique item id, lower_snake_case (e.g. medications).")
    title: str = Field(default="", description="Short title for reports (defaults to the id).")
    kind: Kind = Field(default=Kind.behaviour, description="behaviour (the learner did it) or fault (a mistake).")
    description: str = Field(min_length=5, description="The marking definition, as assessors read it.")
    marks: float = Field(default=1.0, gt=0, le=100, description="Marks the item is worth.")
    evidence: Evidence = Field(description="What counts as evidence.")
    feedback: Feedback = Field(default_factory=Feedback, description="Feedback text for the student.")

    @property
    def label(self) -> str:
        return self.title or self.id.replace("_", " ").capitalize()


class Section(Strict):
    """A group of items with a weight in the overall percentage."""

    id: str = Field(pattern=ID_PATTERN, description="Section id, lower_snake_case.")
    title: str = Field(min_length=1, description="Section title for reports.")
    weight: float = Field(default=1.0, gt=0, le=100, description="Weight of this section in the overall percentage.")
    items: list[Item] = Field(min_length=1, description="The items of this section.")


class Event(Strict):
    """A named moment in the consultation that ordering constraints refer to (e.g. news_given)."""

    id: str = Field(pattern=ID_PATTERN, description="Event id, lower_snake_case.")
    description: str = Field(default="", description="What the event is.")
    evidence: Evidence = Field(description="How to recognise the event; its first occurrence counts.")


class Rubric(Strict):
    """A marking scheme, as written by faculty."""

    schema_version: Literal[1] = Field(description="Version of this schema; write 1.")
    id: str = Field(pattern=ID_PATTERN, description="Unique rubric id, lower_snake_case.")
    title: str = Field(min_length=3, description="Title for reports.")
    description: str = Field(default="", description="What the rubric assesses.")
    scenario: Literal["history_taking", "breaking_bad_news", "cultural_competence", "other"] = Field(
        default="other", description="The kind of consultation it is for."
    )
    pass_mark: float = Field(
        ge=0,
        le=100,
        description="Weighted percentage (0-100) needed to pass (section percentages weighted by weight).",
    )
    documentation: str = Field(
        default="",
        description="Where the marking definitions and rulings are written for assessors (e.g. "
        "docs/rubric_items.md, relative to the repository).",
    )
    events: list[Event] = Field(default_factory=list, description="Named moments used by before/after constraints.")
    sections: list[Section] = Field(min_length=1, description="The sections and their items.")

    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def section_of(self, item_id: str) -> Section:
        for section in self.sections:
            if any(i.id == item_id for i in section.items):
                return section
        raise KeyError(item_id)
