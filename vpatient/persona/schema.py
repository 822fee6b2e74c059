"""The persona file schema (faculty write these in YAML).

Every field carries a description; `vpatient persona schema` prints them as the faculty reference.
Unknown keys are refused so that a typo fails loudly. Version: SCHEMA_VERSION.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Tier(StrEnum):
    """When a statement may be disclosed."""

    volunteered = "volunteered"
    """Told unprompted: with an open question ("tell me more") or as soon as its topic comes up."""
    on_ask = "on_ask"
    """Told when the learner asks about its topic."""
    specific = "specific"
    """Told only when the learner asks about this very thing (close to one of its example questions)."""
    rapport = "rapport"
    """Told when asked about its topic, but only once rapport has been earned; before that, deflected."""
    never = "never"
    """Never told (e.g. what the patient does not know before the news is broken)."""


TIER_ORDER = [Tier.volunteered, Tier.on_ask, Tier.specific, Tier.rapport, Tier.never]


class Statement(Strict):
    """Something the patient can say, disclosed by rule."""

    id: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Unique id within the persona, lower_snake_case (e.g. pain_onset).",
    )
    topic: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="What the statement is about, lower_snake_case (e.g. onset, smoking, medications). "
        "Statements sharing a topic are told together when the topic is asked about.",
    )
    says: str = Field(min_length=2, description="The patient's own words, as the patient would say them.")
    asked_by: list[str] = Field(
        default_factory=list,
        description="Example learner questions that ask for this (the more phrasings, the better the matching).",
    )
    keywords: list[str] = Field(
        default_factory=list,
        description="Words or short phrases that, found in a learner question, point to this statement's topic.",
    )
    tier: Tier = Field(default=Tier.on_ask, description="When it may be told: " + ", ".join(TIER_ORDER) + ".")
    requires: list[str] = Field(
        default_factory=list, description="Ids of statements that must have been told before this one can be."
    )
    deflection: str | None = Field(
        default=None,
        description="What the patient says instead while a rapport-tier statement is not yet earned.",
    )


class Fact(Statement):
    """A clinical or personal fact of the case."""

    negative: bool = Field(
        default=False,
        description="True for a pertinent negative (something the patient does NOT have, e.g. no fever).",
    )


class Sex(StrEnum):
    female = "female"
    male = "male"
    intersex = "intersex"


class Identity(Strict):
    name: str = Field(min_length=1, description="The patient's full name.")
    age: int = Field(ge=0, le=120, description="Age in years.")
    sex: Sex = Field(description="female, male or intersex (drives the voice and the avatar).")
    pronouns: str = Field(default="", description="Pronouns, e.g. she/her.")
    occupation: str = Field(default="", description="Occupation or former occupation.")
    date_of_birth: str = Field(default="", description="Date of birth as the patient would give it.")
    ethnicity: str = Field(default="", description="Ethnic background as the patient describes it (optional).")


class Level(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Style(Strict):
    """Personality and communication style."""

    personality: str = Field(default="", description="A few words on character, for the LLM and the avatar.")
    talkativeness: Level = Field(default=Level.medium, description="low: one fact per answer; high: up to three.")
    cooperativeness: Level = Field(default=Level.high, description="low: rapport-tier facts need more rapport.")
    health_literacy: Level = Field(
        default=Level.medium, description="low: the patient asks what unexplained medical words mean."
    )
    language_proficiency: Level = Field(
        default=Level.high, description="Proficiency in the consultation language (low: short, simple sentences)."
    )
    recall: Level = Field(default=Level.high, description="How well the patient remembers details and dates.")
    filler_words: bool = Field(default=False, description="Whether the LLM mode may add 'um', 'well', etc.")


class Affect(Strict):
    """The emotional state at the start, and what shifts it (values 0 to 1)."""

    baseline_emotion: Literal["neutral", "anxious", "in_pain", "sad", "angry", "relieved"] = Field(
        default="neutral", description="How the patient appears at the start."
    )
    anxiety: float = Field(default=0.3, ge=0, le=1, description="Starting anxiety.")
    rapport: float = Field(default=0.3, ge=0, le=1, description="Starting trust in the learner.")
    distress: float = Field(default=0.0, ge=0, le=1, description="Starting distress (rises when bad news is given).")
    anger: float = Field(default=0.0, ge=0, le=1, description="Starting anger (rises when dismissed).")
    pain: float = Field(default=0.0, ge=0, le=1, description="Pain level shown by voice and face.")
    rapport_needed: float = Field(
        default=0.5, ge=0, le=1, description="Rapport at which rapport-tier statements are told."
    )
    improves_with: list[str] = Field(
        default_factory=list, description="What calms or reassures this patient (free text, for faculty and LLM)."
    )
    worsens_with: list[str] = Field(
        default_factory=list, description="What upsets this patient (free text, for faculty and LLM)."
    )


class IdeasConcernsExpectations(Strict):
    """The patient's own ideas, concerns and expectations (ICE); each is a statement."""

    ideas: Statement = Field(description="What the patient thinks is going on.")
    concerns: Statement = Field(description="What worries the patient.")
    expectations: Statement = Field(description="What the patient hopes will happen today.")


class Culture(Strict):
    """Cultural profile."""

    first_language: str = Field(default="English", description="The patient's first language.")
    consultation_language_fluency: Level = Field(
        default=Level.high, description="Fluency in the language of the consultation."
    )
    interpreter_needed: bool = Field(default=False, description="Whether a professional interpreter is needed.")
    explanatory_model: Statement | None = Field(
        default=None, description="The patient's own explanation of the illness (cause, meaning, name for it)."
    )
    beliefs_and_practices: list[Statement] = Field(
        default_factory=list, description="Beliefs, remedies and practices relevant to care (fasting, healers...)."
    )
    decision_makers: Statement | None = Field(
        default=None, description="Who takes part in decisions (family, elders, spouse) and how."
    )
    reluctant_to_say: list[str] = Field(
        default_factory=list, description="Ids of statements the patient is reluctant to share (use tier rapport)."
    )


class BadNewsReactions(Strict):
    to_warning_shot: str = Field(default="", description="What the patient says after a warning shot.")
    to_news: str = Field(description="The patient's first words after hearing the news.")
    to_jargon: str = Field(default="", description="What the patient says when the news is wrapped in jargon.")
    to_empathy: str = Field(default="", description="What the patient says when the learner acknowledges emotion.")
    later_questions: list[str] = Field(
        default_factory=list, description="Questions the patient asks once the news has sunk in (in order)."
    )


class BadNews(Strict):
    """Present when the learner carries bad news."""

    knows_or_suspects: str = Field(description="What the patient already knows or suspects (for faculty/LLM).")
    news: str = Field(
        description="The news the learner carries (shown in the learner's brief, never said by the patient)."
    )
    news_terms: list[str] = Field(
        min_length=1,
        description="Words that mean the news has been delivered (e.g. cancer, tumour, malignant).",
    )
    reactions: BadNewsReactions = Field(description="How the patient reacts.")


class Presentation(Strict):
    """Voice and avatar hints."""

    voice: str = Field(default="", description="Voice hint, e.g. 'older male, slow, hoarse'.")
    speaking_rate: float = Field(default=1.0, gt=0.3, lt=2.0, description="1.0 is normal speed.")
    skin_tone: str = Field(default="", description="Avatar skin tone, e.g. light, medium, dark.")
    hair: str = Field(default="", description="Avatar hair, e.g. 'short grey'.")
    clothing: str = Field(default="", description="Avatar clothing hint.")
    notes: str = Field(default="", description="Anything else for the avatar (posture, glasses...).")


class Unlisted(Strict):
    """How questions about things the persona does not mention are answered (never invented)."""

    symptom: str = Field(
        default="No, I haven't noticed anything like that.",
        description="Answer to a yes/no question about a symptom or problem the persona does not list.",
    )
    unknown: str = Field(
        default="I'm not sure, to be honest.",
        description="Answer to any other question the persona has no statement for.",
    )
    clarify: str = Field(
        default="Sorry, what do you mean by that?",
        description="What the patient says when a question contains unexplained jargon (low health literacy).",
    )


Scenario = Literal["history_taking", "breaking_bad_news", "cultural_competence"]


class Persona(Strict):
    """A virtual patient, as written by faculty."""

    schema_version: Literal[1] = Field(description="Version of this schema; write 1.")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Unique persona id, lower_snake_case.")
    title: str = Field(min_length=3, description="Short title for faculty lists.")
    scenario: Scenario = Field(description="history_taking, breaking_bad_news or cultural_competence.")
    setting: str = Field(default="", description="Where the encounter happens (GP surgery, ward, clinic).")
    identity: Identity
    brief: str = Field(min_length=10, description="What the student is told before the encounter.")
    opening_line: str = Field(min_length=2, description="What the patient says when first invited to speak.")
    presenting_complaint: str = Field(min_length=2, description="The main problem, in the patient's words.")
    facts: list[Fact] = Field(min_length=1, description="The case facts, including pertinent negatives.")
    unlisted: Unlisted = Field(default_factory=Unlisted)
    ice: IdeasConcernsExpectations
    style: Style = Field(default_factory=Style)
    affect: Affect = Field(default_factory=Affect)
    culture: Culture = Field(default_factory=Culture)
    bad_news: BadNews | None = Field(default=None, description="Only for breaking-bad-news cases.")
    presentation: Presentation = Field(default_factory=Presentation)
    small_talk: dict[str, str] = Field(
        default_factory=dict,
        description="Optional replies to social moves: greeting, thanks, empathy, closing, acknowledgement.",
    )

    def statements(self) -> list[Statement]:
        """Every disclosable statement, in file order (facts, ICE, culture)."""
        out: list[Statement] = list(self.facts)
        out += [self.ice.ideas, self.ice.concerns, self.ice.expectations]
        if self.culture.explanatory_model:
            out.append(self.culture.explanatory_model)
        out += list(self.culture.beliefs_and_practices)
        if self.culture.decision_makers:
            out.append(self.culture.decision_makers)
        return out
