"""The persona file schema (faculty write these in YAML).

Every field carries a description; `vpatient persona schema` prints them as the faculty reference.
Unknown keys are refused so that a typo fails loudly. Version: SCHEMA_VERSION.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

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
    """Told when asked about its topic, but only once the learner has earned it: rapport rises only with
    empathy, acknowledgement of feelings, invitations to talk and plain explanations (never with plain
    questions), and at least one such move must have been made. Until then the patient gives the
    statement's cover story."""
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
    cover_story: str | None = Field(
        default=None,
        validation_alias=AliasChoices("cover_story", "deflection"),
        description="What the patient says about this instead while a rapport-tier (or reluctant_to_say) "
        "statement is not yet earned ('I mostly take them, yeah'). Retired once the truth is told: never said "
        "after it, nor in the same reply. `deflection` is accepted as the old name.",
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
    pronouns: str = Field(
        default="", description="Pronouns, e.g. she/her: told when asked, and used for the patient in the LLM prompt."
    )
    preferred_name: str = Field(
        default="", description="What the patient likes to be called ('Bob'); the first name when empty."
    )
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
    talkativeness: Level = Field(
        default=Level.medium,
        description="How much one reply tells: low answers only what was asked (at most 2 statements, nothing "
        "volunteered beyond one statement to an open question); medium up to 4 statements; high up to 5, and "
        "an open question brings out up to 3 volunteered statements.",
    )
    cooperativeness: Level = Field(
        default=Level.high,
        description="low: rapport-tier facts need one more earning move (empathy, acknowledgement, invitation) "
        "and 0.1 more rapport.",
    )
    health_literacy: Level = Field(
        default=Level.medium, description="low: the patient asks what unexplained medical words mean."
    )
    language_proficiency: Level = Field(
        default=Level.high, description="Proficiency in the consultation language (low: short, simple sentences)."
    )
    recall: Level = Field(
        default=Level.high,
        description="How well the patient remembers details and dates: low hedges statements that hold numbers "
        "or dates ('I think...'); medium hedges them when asked again.",
    )
    filler_words: bool = Field(
        default=False, description="Whether the patient's replies start with 'um', 'well', etc. now and then."
    )


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
        default_factory=list,
        description="What calms or reassures this patient, in a few words each ('plain explanations', 'being "
        "taken seriously', 'an offer of an interpreter'). Each is read as one of the learner moves the engine "
        "knows (see `vpatient persona try`), whose good effect on this patient is doubled; validate warns "
        "about phrases it cannot read.",
    )
    worsens_with: list[str] = Field(
        default_factory=list,
        description="What upsets this patient ('medical jargon', 'being rushed', 'being told it is nothing'); "
        "each doubles the cost of that learner move for this patient.",
    )


class IdeasConcernsExpectations(Strict):
    """The patient's own ideas, concerns and expectations (ICE); each is a statement."""

    ideas: Statement = Field(description="What the patient thinks is going on.")
    concerns: Statement = Field(description="What worries the patient.")
    expectations: Statement = Field(description="What the patient hopes will happen today.")


class Culture(Strict):
    """Cultural profile."""

    first_language: str = Field(
        default="English",
        description="The patient's first language: named when the learner asks about language, and the "
        "language an interpreter is wanted in.",
    )
    consultation_language_fluency: Level = Field(
        default=Level.high,
        description="Fluency in the language of the consultation: low keeps replies to the first sentence of "
        "each statement and asks for long or fast explanations to be said again more simply.",
    )
    interpreter_needed: bool = Field(
        default=False,
        description="Whether a professional interpreter is needed: the patient accepts an offered interpreter "
        "gladly (and declines one when false).",
    )
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
        default_factory=list,
        description="Ids of statements the patient is reluctant to share: whatever their tier, they are told "
        "only once rapport is earned (as the rapport tier), with their cover story before that.",
    )


class BadNewsReactions(Strict):
    to_warning_shot: str = Field(default="", description="What the patient says after a warning shot.")
    to_news: str = Field(description="The patient's first words after hearing the news.")
    to_jargon: str = Field(default="", description="What the patient says when the news is wrapped in jargon.")
    to_empathy: str = Field(default="", description="What the patient says when the learner acknowledges emotion.")
    to_bluntness: str = Field(
        default="",
        description="What the patient says when the news is followed by a brush-off or an abrupt goodbye "
        "('Is that it?'); a stock line is used when empty.",
    )
    concerns_after_news: str = Field(
        default="",
        description="What worries the patient once the news has been given (replaces ice.concerns from then on).",
    )
    later_questions: list[str] = Field(
        default_factory=list,
        description="Questions the patient asks once the news has sunk in, in order: when the learner invites "
        "questions or leaves a silence, or after three explanations or plans in a row with no opening.",
    )


class BadNews(Strict):
    """Present when the learner carries bad news."""

    knows_or_suspects: str = Field(
        description="What the patient already knows or suspects, for faculty and the LLM prompt. The scripted "
        "patient answers a question about what it knows with `understanding` (or, when that is empty, with its "
        "volunteered statements)."
    )
    understanding: str = Field(
        default="",
        description="The patient's own words when asked what it understands so far ('They said there was a "
        "shadow on my lung...'), before the news.",
    )
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

    voice: str = Field(
        default="",
        description="Voice hint, e.g. 'older male, slow, hoarse': 'slow'/'fast' adjust the speaking rate, "
        "'male'/'female' override the sex for the voice; also given to the LLM as character.",
    )
    speaking_rate: float = Field(
        default=1.0, gt=0.3, lt=2.0, description="1.0 is normal speed; multiplies the text-to-speech rate."
    )
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


class SmallTalk(Strict):
    """The patient's own words for social moves. Every field has a plain default; write the ones that give
    this patient a voice. Unknown keys are refused (a misspelt key fails validation)."""

    greeting: str = Field(default="Hello, doctor.", description="Reply to a greeting or introduction.")
    how_are_you: str = Field(
        default="", description="Reply to 'how are you today?' (default: the greeting, or a stock line)."
    )
    agree: str = Field(
        default="Yes, of course.", description="Consent to 'is it OK if I ask a few questions / examine you?'."
    )
    chat: str = Field(
        default="Yes, it is.", description="Reply to small talk (the weather, the traffic, the waiting room)."
    )
    thanks: str = Field(default="Thank you.", description="Reply to thanks or to reassurance.")
    empathy: str = Field(default="Thank you, doctor.", description="Reply to empathy that asks nothing.")
    acknowledgement: str = Field(default="Okay.", description="Reply to a statement that asks nothing.")
    understood: str = Field(default="Yes, I think so.", description="Reply to 'does that make sense?'.")
    confirm: str = Field(default="Yes, that's right.", description="Reply to a correct summary.")
    nothing_else: str = Field(
        default="I think that's everything, really.", description="Reply to 'anything else?' when all is told."
    )
    no_questions: str = Field(
        default="No, I think that's everything, thanks.", description="Reply to 'any questions?' with none left."
    )
    unclear: str = Field(
        default="Sorry, what do you mean exactly?",
        description="Reply to a question that seems to be about the case but is unclear.",
    )
    pardon: str = Field(default="Sorry, I didn't catch that.", description="Reply to an unintelligible fragment.")
    plan_accept: str = Field(
        default="Okay. If you think that's best.", description="Reply to a plan or offer the patient accepts."
    )
    safety_net: str = Field(default="Okay, I'll do that. Thank you.", description="Reply to safety-netting advice.")
    closing: str = Field(default="Thank you, doctor. Bye.", description="Reply to a goodbye.")
    hurt: str = Field(
        default="",
        description="What the patient says when dismissed, rushed or talked down to (a stock line by temper "
        "when empty).",
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
    small_talk: SmallTalk = Field(default_factory=lambda: SmallTalk())

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
