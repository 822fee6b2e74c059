"""The grounded persona engine, scripted mode.

Each learner turn is read for its moves (learner_moves.py: greeting, permission, question, follow-up,
summary, explanation, plan, closing...). Questions are mapped to persona statements (matching.py) or
answered from what the patient has already said (memory.py); disclosure rules decide what may be told now;
the reply is built from the persona's own words and its `small_talk` lines. No LLM is involved, so nothing
is ever invented: questions about things the persona does not mention get its pertinent-negative or
"I don't know" answers. The same `plan()` feeds the LLM mode, which may only rephrase the eligible
statements.

Disclosure rule for the rapport tier (and `culture.reluctant_to_say`): told only once the learner has
earned it, that is at least one earning move (empathy or acknowledgement of feelings, an invitation to
talk; two with low cooperativeness) AND rapport at or above `affect.rapport_needed`, with anger below 0.5.
Plain questions never raise rapport. Until then the statement's cover story is given, and a cover story
is never said once the truth is told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from vpatient.embeddings import Embedder
from vpatient.language import jargon, moves
from vpatient.language.acts import sentences
from vpatient.language.words import content_words, lower_first, proper_names
from vpatient.persona import stock, teach_back
from vpatient.persona.affect import AffectState
from vpatient.persona.learner_moves import EARNING, Move, TurnReading, asks_leave, read_turn
from vpatient.persona.matching import ClauseMatch, Matcher, leans_on_context
from vpatient.persona.memory import ConversationState, Memory
from vpatient.persona.schema import Level, Persona, Statement, Tier

Kind = Literal[
    "answer", "opening", "volunteer", "unlisted", "clarify", "small_talk", "reaction", "deflect", "repeat", "social"
]

MAX_STATEMENTS = {Level.low: 2, Level.medium: 4, Level.high: 5}
"""How many statements one reply may tell, by talkativeness."""
JARGON_TOLERANCE = {Level.low: 1, Level.medium: 2, Level.high: 4}
"""How many unexplained medical terms in one turn make the patient ask what they mean, by health literacy."""
OPEN_VOLUNTEERS = {Level.low: 1, Level.medium: 2, Level.high: 3}
"""How many volunteered statements an open invitation brings out, by talkativeness."""

__all__ = ["ConversationState", "Reply", "ReplyPlan", "ScriptedEngine"]

_YES_NO_SYMPTOM = re.compile(
    r"^(?:(?:so|and|okay|ok|right|um|now|also)[,\s]+)*(?:do you (?:have|get|ever|feel|suffer|notice)|"
    r"have you (?:had|got|noticed|felt|been|ever|experienced|seen)|are you (?:getting|having|feeling|experiencing)|"
    r"any(?:thing)?\b|is there any|has there been|did you (?:have|get|notice|feel)|does it|is it|"
    r"ever had|been having)",
    re.I,
)
_ELLIPTIC_SYMPTOM = re.compile(
    r"^(?!\W*(?:(?:and|so|but|okay|ok|right)\W+)*(?:what|how|when|where|which|who|why)\b)(?=.*\?$).*\b(?:aches?|aching|pain(?:s|ful)?|sore|swollen|"
    r"swelling|numb(?:ness)?|tingl\w*|itch\w*|rash\w*|bleed\w*|cough\w*|dizz\w*|faint\w*|breathless\w*|sick|"
    r"vomit\w*|nause\w*|fevers?|temperature|sweat\w*|cramps?|stiff\w*|lumps?)\b",
    re.I,
)
"""A clipped yes/no question about a symptom ("Calves ache when you walk?"): unlisted, it gets the persona's
denial of symptoms, not "I couldn't tell you"."""
_ASKS_OTHER = re.compile(
    r"\b(?:any ?other|anything else|any more|another|other (?:times?|ones?|episodes?|days?|places?|parts?|areas?)|"
    r"(?:some|any)where else|elsewhere|apart from (?:that|this)|"
    r"besides (?:that|this)|other than (?:that|this)|again since)\b",
    re.I,
)
_OPEN_GENERIC = re.compile(
    r"\b(?:what (?:brings|brought) you|how can i help|what can i do for you|what seems to be|"
    r"what'?s (?:been )?(?:going on|happening|the problem|brought you)|tell me (?:more|a bit more|a little more|"
    r"about (?:it|that|this|what'?s been|what has been|your (?:problem|symptoms)))|anything else|"
    r"go on|carry on|in your own words|start from the beginning|how have you been)\b",
    re.I,
)
_FIRST_OPEN = re.compile(
    r"\b(?:what (?:brings|brought) you|how can i help|what can i do for you|what seems to be|"
    r"what(?:'s| is) (?:been )?(?:going on|happening|the problem|brought you)|how are you (?:today|doing)|"
    r"how (?:are|have) you been|what(?:'s| is| are) (?:the |your )?(?:main )?(?:problem|issue|concern)|"
    r"tell me (?:about )?what'?s (?:been )?(?:going on|happening)|what would you like to (?:talk|discuss)|"
    r"what'?s up)\b",
    re.I,
)
_AGE_Q = re.compile(r"\b(?:how old are you|what(?:'s| is) your age|your age)\b", re.I)
_DOB_Q = re.compile(
    r"\b(?:date of birth|\bdob\b|when (?:were|are) you born|(?:date|day|year) you (?:are|were) born|birthday)\b", re.I
)
_NAME_Q = re.compile(r"\b(?:your (?:full )?name|who (?:am i|i'?m) (?:speaking|talking) (?:to|with))\b", re.I)
_CALL_Q = re.compile(
    r"\b(?:call you|address you|refer to you|like to be called|prefer to be called|preferred name)\b", re.I
)
_PRONOUN_Q = re.compile(r"\bpronouns?\b", re.I)
_JOB_Q = re.compile(r"\b(?:what do you do|your (?:job|work)|for a living|occupation)\b", re.I)
_INTERPRETER_OFFER = re.compile(r"\b(?:interpreter|translator|translat\w+)\b", re.I)
_PERCEPTION = re.compile(
    r"\b(?:what (?:do|did) you (?:already )?(?:know|understand|think)|what(?:'s| is) your understanding|"
    r"what have you been told|what (?:has|have) (?:anyone|the doctors?|they|\w+) (?:told|said)|what were you "
    r"told|do you know why|why (?:do you think )?you (?:had|came for|were sent for)|how you came to (?:have|be)|"
    r"(?:understand|know) (?:so far|"
    r"about (?:why|the (?:scan|test|results?|biopsy|x-?ray))))\b",
    re.I,
)
_INVASIVE = re.compile(
    r"\b(?:surgery|operation|operate|biopsy|camera|bronchoscop\w*|endoscop\w*|chemo\w*|radiotherapy|admit\w*|"
    r"procedure|injections?|insulin|antidepressants?|tablets? for (?:your )?mood)\b",
    re.I,
)
_WHEN_HOW = content_words("how long often much many bad start started happen happens going when since")
"""Words of a follow-up that asks only when, how long or how bad ('how long's that been going on?')."""
_POINTS_BACK = re.compile(r"\b(?:that|those|they|them)\b", re.I)
"""'How long's THAT been going on?' leans on what was just said; 'he', 'her' may name someone the case knows."""
_BELIEF_WORDS = re.compile(
    r"\b(?:faith|belie\w+|religio\w*|culture|cultural|traditions?|practices?|prayers?|fast(?:ing)?|important to "
    r"you|matters to you|values)\b",
    re.I,
)
_FILLERS = ("Um, ", "Well, ", "Erm, ")
_VIEW_Q = re.compile(
    r"\b(?:how (?:would|do) you feel about|would you (?:be (?:happy|willing|ok|okay)|consider)|what do you think "
    r"(?:about|of) (?:taking|having|starting|changing|trying|the plan))\b",
    re.I,
)
_STATES = re.compile(r"n'?t\b|\b(?:not|will|would|should|must|means?|can)\b", re.I)
"""A clause with a negation or a modal says something ("Asking for help doesn't mean..."): not an elliptical
question."""
_CHOICE = re.compile(
    r",?\s+or,?(?:\s+(?:sorry|um+|uh+|erm+|maybe|perhaps|instead),?)*\s+"
    r"(?:(?:would|do|did) you|you(?:'d)? (?:prefer|rather|want)|(?:shall|should|can|could) (?:i|we)|"
    r"i (?:can|could|will)|we (?:can|could)|(?:would|do) you (?:rather|prefer)|(?:right )?now|later|wait)\b",
    re.I,
)
"""A question that offers the patient a choice of how things go."""
_ASKS_TIME = re.compile(r"\b(?:when|how long|since when|what time)\b", re.I)
_TELLS_TIME = re.compile(
    r"\b(?:ago|since|started|began|start|yesterday|last (?:week|month|year|night)|"
    r"(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|few|couple of|several)"
    r" (?:days?|weeks?|months?|years?))\b",
    re.I,
)
_AFTER_NEWS_OPEN = re.compile(
    r"\b(?:anything else|what else|on your mind|wondering|(?:any|other) (?:questions?|worries|concerns)|"
    r"going (?:through|round|on in) your (?:mind|head)|what are you thinking)\b",
    re.I,
)
"""After the news, an open invitation brings up the patient's own questions."""
_INFORMS = frozenset({Move.explanation, Move.plan, Move.safety_net, Move.advice})
"""Moves that give the patient information it can later say back (teach-back)..."""
_SOCIAL = frozenset({Move.empathy, Move.acknowledgement, Move.greeting, Move.introduction, Move.thanks, Move.closing})
"""...unless the clause is comfort or courtesy ("I should have said, that sounds like a long week")."""
_EXPLAINS_AWAY = re.compile(
    r"\b(?:(?:does|did|will|would)(?:n'?t| not) (?:cause|mean)|(?:is|was|'s) not (?:the|a) (?:reason|cause|sign)|"
    r"isn'?t (?:the|a) (?:reason|cause|sign)|(?:not|nothing) (?:your|to do with your) fault|nothing you did)\b",
    re.I,
)
"""Reassurance that explains a fear away ("a termination years ago doesn't cause a miscarriage")."""
_ACCEPTS = re.compile(r"\b(?:okay|ok|yes|yeah|fine|alright|all right|happy to|i'?ll try|i try)\b", re.I)
"""Words that take up a plan."""
_WORRY = re.compile(r"\b(?:worr\w*|concern\w*|fear\w*|frighten\w*|scar(?:ed|es|y)|afraid|anxious)\b", re.I)


def _defined_here(text: str, term: str) -> bool:
    """'A PET-CT is another scan that...', 'the MDT is a meeting where...', 'dyspnoea just means...', 'a PET
    scan, which lights up...', 'take a small sample, a biopsy': the term is explained in place."""
    t = re.escape(term)
    return bool(
        re.search(
            rf"\b{t}\b[^.?!]{{0,12}}?\b(?:is|are)\b (?:a|an|another|the|when|where|just|basically|like|some)\b|"
            rf"\b{t}\b[^.?!]{{0,12}}?\b(?:means|stands for)\b|\b{t}(?: \w+)?, (?:which|that|where|meaning|i\.e\.)\b|"
            rf"\w, (?:a |an |or |called )?{t}\b|\b(?:called|known as|we call (?:it|this|that))\b (?:a |an |the )?{t}\b|"
            rf"\b{t}\b[^.?!]{{0,30}}[.?!,]\s+(?:that'?s|this is|that is|(?:sorry, )?i mean|in other words)\b "
            r"(?:a|an|the|when|where|just|basically|how|like|we|your|our)\b",
            text,
            re.I,
        )
    )


@dataclass
class ReplyPlan:
    """What the patient may say now: the statements eligible for this reply and the scripted wording."""

    kind: Kind
    text: str
    """The scripted reply, built only from persona text."""
    statements: list[Statement] = field(default_factory=list)
    """Statements told in this reply (eligible now)."""
    acts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Why the engine answered as it did (withheld statements, unmatched clauses...)."""
    topics: list[str] = field(default_factory=list)


@dataclass
class Reply:
    text: str
    disclosed: list[str]
    kind: Kind
    affect: dict[str, float | str]
    emotion: str
    acts: list[str]
    notes: list[str]
    mode: str = "scripted"
    meta: dict[str, Any] = field(default_factory=dict)

    def turn_meta(self) -> dict[str, Any]:
        """What is stored with the patient's turn."""
        return {
            "engine": self.mode,
            "kind": self.kind,
            "disclosed": self.disclosed,
            "emotion": self.emotion,
            "affect": self.affect,
            "acts": self.acts,
            "notes": self.notes,
            **self.meta,
        }


@dataclass
class _Draft:
    """A reply being assembled: parts in order, statements told, why."""

    kind: Kind = "social"
    parts: list[str] = field(default_factory=list)
    told: list[Statement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    covers: dict[str, str] = field(default_factory=dict)
    """Statement id -> cover story given in this reply."""

    def say(self, text: str, kind: Kind | None = None) -> None:
        if text and text not in self.parts:
            self.parts.append(text)
        if kind and self.kind in ("social", "small_talk"):
            self.kind = kind

    def tell(self, s: Statement, text: str | None = None) -> None:
        if s in self.told:
            return  # once a reply: two clauses that lean on the same statement do not say it twice
        self.told.append(s)
        self.say(text or s.says)
        if s.topic not in self.topics:
            self.topics.append(s.topic)
        if self.kind in ("social", "small_talk", "unlisted", "deflect"):
            self.kind = "answer"

    def retell(self, s: Statement, sentence: str) -> None:
        """Tells `s` again, briefly ("As I said, ..."); `sentence` starts in lower case."""
        self.tell(s, f"{stock.AS_I_SAID} {sentence}")
        self.kind = "repeat" if self.kind == "answer" else self.kind


class ScriptedEngine:
    """The rule-based persona engine; also the fallback of the LLM mode."""

    mode = "scripted"

    def __init__(self, persona: Persona, embedder: Embedder):
        self.persona = persona
        self.matcher = Matcher(persona, embedder)
        self.memory = Memory(persona)
        self.state = ConversationState()
        self.affect = AffectState.from_persona(persona.affect)
        self._by_id = {s.id: s for s in persona.statements()}
        own_words = [persona.opening_line, persona.presenting_complaint, *(s.says for s in persona.statements())]
        self._own_terms = set(jargon.find_terms(" ".join(own_words)))
        self._names = proper_names(own_words)
        self._own_acronyms = {w for w, _ in jargon.acronyms(" ".join(own_words))}
        self._volunteered = [s for s in persona.statements() if s.tier == Tier.volunteered]
        self._reluctant = set(persona.culture.reluctant_to_say)
        self._plan_views = [
            s
            for s in persona.statements()
            if s.tier != Tier.never
            and sum(read_turn(q).has(Move.plan) or bool(_VIEW_Q.search(q)) for q in s.asked_by) >= 2
        ]
        self._offer_answers = [
            s
            for s in persona.statements()
            if s.tier != Tier.never and sum(read_turn(q).has(Move.permission) for q in s.asked_by) >= 2
        ]
        """The patient's wishes about how the consultation goes ('Please just tell me'): statements whose
        example questions are offers."""
        self._news_re = (
            re.compile(
                r"\b(?:" + "|".join(re.escape(t) for t in persona.bad_news.news_terms if t.strip()) + r")\b", re.I
            )
            if persona.bad_news
            else None
        )

    # ----------------------------------------------------------------- public API
    def respond(self, utterance: str, *, interrupted: bool = False) -> Reply:
        plan = self.plan(utterance, interrupted=interrupted)
        return self.commit(utterance, plan, plan.text)

    def read(self, utterance: str) -> TurnReading:
        """The learner moves of an utterance, as this engine reads them."""
        return read_turn(utterance, news_context=self.persona.bad_news is not None)

    def plan(self, utterance: str, *, interrupted: bool = False) -> ReplyPlan:
        """Decide what may be said. Affect and the conversation state move here; commit() records what was told."""
        reading = self.read(utterance)
        found = sorted(m.value for m in reading.moves)
        used, defined = self._jargon(reading.text)
        terms = [t for t in used if t not in self.state.explained_terms]
        self.state.explained_terms |= self.state.pending_terms | defined  # explained now, or had the turn to
        self.state.pending_terms = set()
        # A term let pass once is not asked about when the learner uses it again (in a recap, say).
        new_terms = {t for t in terms if t not in self.state.heard_terms}
        self.state.heard_terms |= set(terms)
        if terms:
            found.append("jargon")
        news_said = self._news_re is not None and self._news_re.search
        self.state.informed += [
            (c.text, bool(c.moves & {Move.plan, Move.safety_net, Move.advice}))
            for c in reading.clauses
            if not c.asks and not c.moves & _SOCIAL and (c.moves & _INFORMS or (news_said and news_said(c.text)))
        ]
        if interrupted:
            found.append("interruption")
        self._shift_affect(reading, terms, interrupted)
        d = _Draft()
        if reading.unintelligible or (Move.noise in reading.moves and not reading.clauses):
            if reading.unintelligible:
                d.say(self.persona.small_talk.pardon, "small_talk")
            else:
                d.say(self._short_ack(), "small_talk")
            return self._finish(d, found)
        greeted_now = (
            reading.has(Move.greeting, Move.introduction) and not self.state.greeted and not reading.has(Move.closing)
        )
        if greeted_now:
            self.state.greeted = True
            d.say(self.persona.small_talk.greeting, "small_talk")
        needs = JARGON_TOLERANCE[self.persona.style.health_literacy]
        # "Is it exertional?": a short question that turns on a term cannot be answered without knowing it
        hinges = any(c.asks and len(c.text.split()) <= 6 and any(t in c.text for t in terms) for c in reading.clauses)
        asks_meaning = (len(new_terms) >= needs or (hinges and bool(new_terms))) and not reading.has(Move.closing)
        if self.persona.bad_news is not None and not (asks_meaning and self.state.news_delivered):
            reaction = self._bad_news(reading, found, terms)
            if reaction is not None:
                if any(Move.permission in c.moves and not c.asks for c in reading.clauses):
                    reaction.text = f"{self.persona.small_talk.agree} {reaction.text}"  # "is it OK if we talk?"
                if greeted_now:
                    reaction.text = f"{self.persona.small_talk.greeting} {reaction.text}"
                return reaction
        if asks_meaning:
            self.state.pending_terms = set(terms)
            d.say(self.persona.unlisted.clarify, "clarify")
            d.notes.append(f"unexplained jargon: {', '.join(terms)}")
            return self._finish(d, found)
        if Move.dismissal in reading.moves and not self.state.hurt_said and not reading.has(Move.closing):
            self.state.hurt_said = True
            d.say(self._hurt(), "reaction")
        self._clauses(reading, d)
        self._closing(reading, d)
        if not d.parts:
            self._social(reading, d)
        return self._finish(d, found)

    def commit(self, utterance: str, plan: ReplyPlan, spoken: str, *, mode: str | None = None) -> Reply:
        """Record the reply actually given (scripted or rephrased) and return it with its metadata."""
        self.state.turn += 1
        for s in plan.statements:
            self.state.told.setdefault(s.id, self.state.turn)
        self.state.last_told = [s.id for s in plan.statements]
        if plan.kind == "opening":
            self.state.opened = True
        self.state.history.append((utterance, spoken))
        return Reply(
            text=spoken,
            disclosed=[s.id for s in plan.statements],
            kind=plan.kind,
            affect=self.affect.snapshot(),
            emotion=self.affect.emotion,
            acts=plan.acts,
            notes=plan.notes,
            mode=mode or self.mode,
        )

    def earned(self) -> bool:
        """Whether rapport-tier statements may be told now (see the module docstring)."""
        needed_moves = 2 if self.persona.style.cooperativeness == Level.low else 1
        needed = self.persona.affect.rapport_needed
        if self.persona.style.cooperativeness == Level.low:
            needed = min(1.0, needed + 0.1)
        return self.state.earned >= needed_moves and self.affect.rapport >= needed and self.affect.anger < 0.5

    # ----------------------------------------------------------------- affect
    def _shift_affect(self, reading: TurnReading, terms: list[str], interrupted: bool) -> None:
        if reading.has(Move.introduction) and not self.state.greeted:
            self.affect.apply("introduction")
        earning = reading.moves & EARNING
        if earning:
            self.state.earned += 1
            if self.state.news_delivered:
                self.state.soothed_after_news = True
        if Move.empathy in reading.moves:
            self.affect.apply("empathy")
        if Move.invitation_to_talk in reading.moves:  # with empathy in the same turn, both count
            self.affect.apply("invitation_to_talk")
        if Move.explanation in reading.moves and not terms:
            self.affect.apply("plain_explanation")
        if Move.reassurance in reading.moves:
            self.affect.apply("reassurance")
        if Move.language in reading.moves and _INTERPRETER_OFFER.search(reading.text):
            self.affect.apply("interpreter")
        if moves.is_respectful(reading.text):
            self.affect.apply("respect")
            if _BELIEF_WORDS.search(reading.text):
                self.state.earned += 1  # acknowledging a belief respectfully earns trust; a plain "thanks" does not
        if terms:
            self.affect.apply("jargon")
        if interrupted:
            self.affect.apply("interruption")
        if Move.dismissal in reading.moves or moves.dismisses_belief(reading.text):
            self.affect.apply("dismissive")
        if Move.plan in reading.moves and self.state.news_delivered:
            self.state.soothed_after_news = True

    def _hurt(self) -> str:
        if self.persona.small_talk.hurt:
            return self.persona.small_talk.hurt
        return stock.HURT_ANGRY if self.affect.anger >= 0.4 else stock.HURT

    # ----------------------------------------------------------------- assembling
    def _finish(self, d: _Draft, found: list[str]) -> ReplyPlan:
        told_ids = {s.id for s in d.told} | set(self.state.told)
        # A cover story is never said with, or after, the truth it covers.
        for sid, cover in d.covers.items():
            if sid in told_ids and cover in d.parts:
                d.parts.remove(cover)
        parts = [self._styled(p, d) for p in d.parts]
        text = " ".join(p for p in parts if p).strip()
        if self.persona.style.filler_words and d.kind in ("answer", "volunteer", "repeat") and self.state.turn % 3 == 1:
            text = _FILLERS[(self.state.turn // 3) % len(_FILLERS)] + lower_first(text, self._names)
        kind: Kind = "small_talk" if d.kind == "social" else d.kind
        return ReplyPlan(kind, text, d.told, found, d.notes, d.topics)

    def _styled(self, part: str, d: _Draft) -> str:
        """Recall and fluency shape the wording of statements (never their content)."""
        told = next((s for s in d.told if s.says == part), None)
        if told is None:
            return part
        if self.persona.culture.consultation_language_fluency == Level.low:
            part = sentences(part)[0]
        if self.persona.style.recall == Level.low and re.search(r"\d|\b(?:weeks?|months?|years?|days?)\b", part):
            part = "I think " + lower_first(part, self._names)
        return part

    def _short_ack(self) -> str:
        ack = self.persona.small_talk.acknowledgement
        return sentences(ack)[0] if ack else "Mm."

    # ----------------------------------------------------------------- per clause
    def _clauses(self, reading: TurnReading, d: _Draft) -> None:
        unmatched: list[tuple[str, float]] = []
        limit = MAX_STATEMENTS[self.persona.style.talkativeness]
        before = self.state.history[-1][0] if self.state.history else None
        texts = [c.text for c in reading.clauses]
        clause_matches = self.matcher.match(texts, before, self.state.last_told) if texts else []
        matches = dict(zip(texts, clause_matches, strict=True))
        for c in reading.clauses:
            ms = c.moves
            cm = matches[c.text]
            fact_hit = any(m.by == "keyword" or m.score >= self.matcher.ASK for m in cm.matches)
            if Move.identity in ms:
                self._identity(c.text, d)
            if Move.permission in ms and not c.asks:
                fresh = [m for m in cm.matches if m.by != "topic" and m.statement.id not in self.state.told]
                if not asks_leave(c.text) and any(m.score >= self.matcher.SPECIFIC for m in fresh):
                    self._question(c.text, d, limit, cm)  # "Would you like to wait for Tunde?": her own wish
                else:
                    d.say(self.persona.small_talk.agree, "small_talk")
            if Move.language in ms and fact_hit:
                self._question(c.text, d, limit, cm)  # the persona's own words about its language
            elif Move.language in ms:
                self._language(c.text, d)
            if Move.small_talk in ms and not c.asks:
                # "How's work?" touches a fact by name; "Lovely weather, isn't it?" read with the complaint does not
                names_fact = any(m.by == "keyword" or m.score >= self.matcher.SPECIFIC for m in cm.matches)
                if names_fact and (self.state.opened or self.state.turn > 1):
                    self._question(c.text, d, limit, cm)
                else:
                    self._small_talk(c.text, d)
            if Move.clarification in ms:
                self._repeat_last(d)
            if Move.summary in ms:
                self._summary(reading.text, d)
            ice_ids = {self.persona.ice.concerns.id, self.persona.ice.ideas.id, self.persona.ice.expectations.id}
            asks_ice = any(m.statement.id in ice_ids and m.by != "topic" for m in cm.matches)
            if Move.check_understanding in ms and moves.asks_teach_back(c.text) and self._teach_back(c.text, d):
                pass  # "Could you tell me what you've taken from it?"
            elif (Move.check_understanding in ms and fact_hit and Move.invite_questions not in ms) or (
                Move.invite_questions in ms and asks_ice
            ):
                self._question(c.text, d, limit, cm)  # "can you tell me in your own words why the scan was done?"
            elif Move.invite_questions in ms or Move.check_understanding in ms:
                self._reply_to_check(Move.invite_questions in ms, d)
            after = {Move.plan, Move.explanation, Move.safety_net, Move.advice, Move.summary}
            if Move.tag in ms and (
                any(o.moves & after for o in reading.clauses if o is not c) or reading.has(Move.summary)
            ):
                pass  # answered with what it tags
            elif Move.tag in ms:
                d.say(self.persona.small_talk.understood, "small_talk")
            views_plan = reading.has(Move.plan) and self._view_of_plan(reading) is not None
            if Move.tag in ms and re.search(r"\b(?:think|feel)\b", c.text, re.I) and fact_hit and not views_plan:
                self._question(c.text, d, limit, cm)  # "What do you think about this?": the patient's own view
            own_wish = any(
                (m.by == "keyword" or m.score >= self.matcher.ASK)
                and (m.statement.id not in self.state.told or m.score >= self.matcher.SPECIFIC)
                for m in cm.matches
            )  # asked again, closely: the patient says it again ("As I said, ...")
            if Move.plan in ms and not c.asks and own_wish and re.search(r"\?\s*$", c.text):
                self._question(c.text, d, limit, cm)  # "Would you like to talk it over with Tunde?"
                c.moves.discard(Move.plan)
            # Speech recognition drops question marks and mishears the first word ("And the allergies to
            # medicines." / "I need a fever or cough recently."): a short clause that does nothing else but
            # names a fact's topic by its keywords is a question.
            elliptical = (
                not ms
                and len(c.text.split()) <= 10
                and not _STATES.search(c.text)
                and not reading.has(Move.plan, Move.explanation, Move.advice, Move.safety_net, Move.summary)
                and any(m.by == "keyword" for m in cm.matches)
                # "In the evenings when he leaves for work. So you're on your own?": a reflection, unless a later
                # clause leans on it ("You said you're tired. Tell me more about that.")
                and not (self._echoes_patient(c.text) and not any(leans_on_context(o.text) for o in reading.after(c)))
            )
            if c.asks or elliptical:
                best = self._question(c.text, d, limit, cm)
                if best is not None:
                    unmatched.append(best)
        if (
            reading.has(Move.explanation)
            and not reading.questions
            and not reading.has(Move.summary, Move.plan, Move.safety_net)
        ):
            self._explained(reading, d)  # with safety-netting, the reply is to the advice ('Okay, I'll do that')
        if any(Move.plan in c.moves for c in reading.clauses) and not reading.has(Move.closing):
            self._plan(reading, d)
        if reading.has(Move.safety_net, Move.advice) and not reading.has(Move.closing) and not d.parts:
            d.say(self.persona.small_talk.safety_net, "small_talk")
        open_clauses = {c.text: Move.open_invitation in c.moves for c in reading.clauses}
        for clause, score in unmatched:
            if (d.told or d.parts) and score < self.matcher.ASK:
                d.notes.append(f"unclear, not asked back (answered the rest): {clause!r}")
                continue
            if open_clauses.get(clause) and reading.has(Move.empathy, Move.invitation_to_talk):
                d.notes.append(f"open invitation after empathy, answered as such: {clause!r}")
                continue  # "Take your time. How have things really been?": the reply to the empathy (_social)
            d.say(self._unlisted(clause, score), "unlisted")
            d.notes.append(f"unlisted: {clause!r}")

    def _question(self, clause: str, d: _Draft, limit: int, cm: ClauseMatch) -> tuple[str, float] | None:
        """Answer one question clause; returns (clause, closeness) when nothing in the persona answers it."""
        # "What's brought you in today?" opens, however close it is to an example ("what were you after from
        # today?"); a fact named by its keywords ("what brought you in about the tablets?") is answered instead.
        named = any(m.by == "keyword" for m in cm.matches)
        if _FIRST_OPEN.search(clause) and not self.state.opened and self.state.turn < 8 and not named:
            self._opening(d)
            return None
        if self.persona.bad_news and not self.state.news_delivered and _PERCEPTION.search(clause):
            understanding = self.persona.bad_news.understanding
            if understanding:
                d.say(understanding, "answer")
                return None
        hits = cm.matches
        if self._own_question_after_news(clause, hits, d):
            return None
        wish = self._choice_offered(clause, cm)
        if wish is not None:
            d.tell(wish)
            d.notes.append(f"a choice offered: {wish.id}")
            return None
        fresh = [m for m in hits if m.statement.id not in self.state.told and m.statement not in d.told]
        entity = self.memory.about_entity(clause, self.state.told, lambda s: self._permitted(s)[0])
        if entity is not None and not fresh:
            s, sentence = entity
            d.tell(s, sentence)
            d.notes.append(f"about what the patient said: {s.id}")
            return None
        follow = self.memory.follow_up(clause, self.state.last_told)
        keyed = any(m.by == "keyword" for m in fresh)
        weak = not fresh or not (keyed or any(m.score >= self.matcher.SPECIFIC for m in fresh))
        # "how long's THAT been going on?"; not "Is that where you work?", closer to a statement not told yet
        points_back = bool(_POINTS_BACK.search(clause)) and not keyed
        if follow is not None and fresh and points_back:
            best = max(fresh, key=lambda m: m.score)
            its_words = (content_words(clause) - _WHEN_HOW) & content_words(
                " ".join([best.statement.says, *best.statement.asked_by])
            )
            newer = best.score >= max(self.matcher.ASK, cm.scores.get(follow[0].id, 0.0) + self.matcher.MARGIN)
            points_back = not (newer and its_words)
        asked = any(
            m.by == "keyword" or m.score >= self.matcher.ASK
            for m in hits
            if m.by != "topic" and (m in fresh or m.statement.id in self.state.told)
        )
        leans = weak and not asked  # "What do you think it is?" asks about ideas, not about what was just said
        about_them = self.memory.person_referent(clause, self.state.last_told) and (not fresh or not asked)
        if follow is not None and (leans or points_back or about_them):
            s, sentence = follow
            d.tell(s, sentence)
            d.notes.append(f"follow-up on {s.id}")
            return None
        if _OPEN_GENERIC.search(clause) and not hits:
            n = OPEN_VOLUNTEERS[self.persona.style.talkativeness]
            vol = [s for s in self._volunteered if s.id not in self.state.told and s not in d.told]
            vol = [s for s in vol if self._permitted(s)[0]][:n]
            if vol:
                for s in vol:
                    d.tell(s)
                d.kind = "volunteer" if d.kind == "answer" else d.kind
            else:
                d.say(self.persona.small_talk.nothing_else, "small_talk")
            return None
        if self._concerns_after_news(clause, hits, d):
            return None
        if not hits:
            rescued = self._rescue(clause, cm.best_id, cm.best_score)
            if rescued is not None:
                d.tell(rescued)
                d.notes.append(f"answered from a shared word: {rescued.id}")
                return None
            nearest = self._nearest_unclear(cm)
            if nearest is not None:
                if nearest.id in self.state.told:
                    d.retell(nearest, self._relevant_sentence(clause, nearest, lower=True))
                else:
                    d.tell(nearest)
                d.notes.append(f"unclear, answered with the nearest: {nearest.id}")
                return None
            return clause, self._closeness(clause, cm.best_id, cm.best_score)
        repeated = [m.score for m in hits if m.by != "topic" and m.statement.id in self.state.told]
        if repeated and max(repeated) >= self.matcher.SPECIFIC:
            # "Would you like an interpreter?" asked again: not the statement that merely shares a keyword
            hits = [
                m
                for m in hits
                if not (m.by == "keyword" and m.score < self.matcher.GRAY and m.statement.id not in self.state.told)
            ]
            if not hits:
                return None
        withheld: list[Statement] = []
        target = self._by_id.get(cm.best_id or "")
        asked_again = any(
            m.statement.id in self.state.told and m.by != "topic" and m.score >= cm.best_score - self.matcher.MARGIN
            for m in hits
        )  # 'Any thoughts of harming Tobi?' asked again: the answer again, not the cover of a neighbouring secret
        if target is not None and target.id not in self.state.told and self._cover(target) and not asked_again:
            ok, why = self._permitted(target)
            if not ok and any(m.statement.id == target.id for m in hits):
                # what was asked is held back: the cover story, not its neighbours on the same topic
                cover = self._cover(target) or ""
                d.say(cover, "deflect")
                d.covers[target.id] = cover
                d.notes.append(f"withheld {why}")
                hits = [m for m in hits if m.statement.topic != target.topic and m.by != "topic"]
        direct = [m for m in hits if m.by != "topic"]
        told_before = [m.statement for m in direct if m.statement.id in self.state.told]
        for m in hits:
            s = m.statement
            if s in d.told:
                continue
            if s.id in self.state.told:
                continue  # repeats are handled below, once, briefly
            ok, why = self._permitted(s)
            if not ok:
                d.notes.append(f"withheld {why}")
                withheld.append(s)
                continue
            if len(d.told) >= limit:
                d.notes.append(f"held back {s.id}: {limit} statements per reply")
                continue
            d.tell(s)
        answered_here = any(m.statement in d.told for m in hits)
        if withheld and not answered_here and not (asked_again and told_before):
            cover_of = next((s for s in withheld if self._cover(s)), None)
            if cover_of is not None:
                cover = self._cover(cover_of) or ""
                d.say(cover, "deflect")
                d.covers[cover_of.id] = cover
            elif not told_before:
                d.say(self.persona.unlisted.unknown, "deflect")
        other = self._something_else(clause, cm, told_before) if not answered_here and told_before else None
        if other is not None:  # "Has it happened any other time?": not what was said, what else there is
            if other.id in self.state.told:  # the denial, whole: "only that one time. Other days, no..."
                d.retell(other, lower_first(other.says, self._names))
            else:
                d.tell(other)
            d.notes.append(f"asked for something besides what was told: {other.id}")
            return None
        if not answered_here and told_before and (not withheld or asked_again):
            s = self._most_relevant(clause, told_before, {m.statement.id: m.score for m in direct})
            d.retell(s, self._relevant_sentence(clause, s, lower=True))
        return None

    def _something_else(self, clause: str, cm: ClauseMatch, told_before: list[Statement]) -> Statement | None:
        """A question that asks for something besides what was told ("any other time?", "anything else like
        that?") about a topic already answered: the closest statement on that topic, or on what was just said,
        not told yet; else the denial already given; else the closest statement not told yet on any topic ("From
        the chest it goes to other places also?" after the site was told)."""
        if not _ASKS_OTHER.search(clause):
            return None
        topics = {s.topic for s in told_before} | {
            self._by_id[i].topic for i in self.state.last_told if i in self._by_id
        }
        ranked = [self._by_id[i] for i, _ in sorted(cm.scores.items(), key=lambda kv: -kv[1]) if i in self._by_id]
        untold = [
            s
            for s in ranked
            if s.id not in self.state.told
            and self._permitted(s)[0]
            and s.tier != Tier.never
            and (s.tier != Tier.specific or cm.scores[s.id] >= self.matcher.SPECIFIC)  # only when asked for itself
        ]
        on_topic = (s for s in untold if s.topic in topics)
        # nothing new on it: the denial already given ("Only that one time."), if the case has one
        denial = (f for f in self.persona.facts if f.topic in topics and f.negative and f.id in self.state.told)
        nearest = (s for s in untold if cm.scores[s.id] >= self.matcher.GRAY)
        return next(on_topic, None) or next(denial, None) or next(nearest, None)

    def _choice_offered(self, clause: str, cm: ClauseMatch) -> Statement | None:
        """'Shall we wait for your husband, or shall I tell you now?': the patient's wish, when the case says it
        (the closest statement whose example questions are offers)."""
        if not self._offer_answers or not _CHOICE.search(clause):
            return None
        ready = [s for s in self._offer_answers if s.id not in self.state.told and self._permitted(s)[0]]
        best = max(ready, key=lambda s: cm.scores.get(s.id, 0.0), default=None)
        return best if best is not None and cm.scores.get(best.id, 0.0) >= self.matcher.GRAY else None

    def _opening(self, d: _Draft) -> None:
        """The opening line (without its greeting when the greeting was just returned) and the first
        volunteered statement."""
        opening = sentences(self.persona.opening_line)
        if self.state.greeted and len(opening) > 1 and moves.greets(opening[0]) and len(opening[0].split()) <= 4:
            opening = opening[1:]
        d.say(" ".join(opening))
        first = next((s for s in self._volunteered if s.id not in self.state.told), None)
        if first is not None and self._permitted(first)[0]:
            d.tell(first)
        d.kind = "opening"
        self.state.opened = True

    def _most_relevant(self, clause: str, candidates: list[Statement], scores: dict[str, float]) -> Statement:
        """The statement sharing most words with the clause (a 'when' question counts a statement that tells a
        time as one more); the closer match among equals."""
        words = content_words(clause)
        asks_time = bool(_ASKS_TIME.search(clause))

        def key(s: Statement) -> tuple[int, float]:
            shared = len(words & content_words(s.says + " " + " ".join(s.asked_by)))
            return shared + int(asks_time and bool(_TELLS_TIME.search(s.says))), scores.get(s.id, 0.0)

        return max(candidates, key=key)

    def _relevant_sentence(self, clause: str, s: Statement, *, lower: bool = False) -> str:
        sents = sentences(s.says)
        words = content_words(clause)
        best = max(sents, key=lambda x: len(words & content_words(x))) if words else sents[0]
        if len(words & content_words(best)) == 0:
            best = sents[0]
        k = sents.index(best)
        if len(best.split()) < 5 and k + 1 < len(sents):
            best = f"{best} {sents[k + 1]}"  # 'No, never.' alone says nothing of what it denies
        return lower_first(best, self._names) if lower else best

    def _cover(self, s: Statement) -> str | None:
        if s.id in self.state.told:
            return None
        return s.cover_story

    def _permitted(self, s: Statement) -> tuple[bool, str]:
        if s.tier == Tier.never:
            return False, f"{s.id}: tier never"
        missing = [r for r in s.requires if r not in self.state.told]
        if missing:
            return False, f"{s.id}: requires {', '.join(missing)} first"
        if (s.tier == Tier.rapport or s.id in self._reluctant) and s.id not in self.state.told and not self.earned():
            return False, (
                f"{s.id}: rapport not earned (earning moves {self.state.earned}, rapport {self.affect.rapport:.2f}, "
                f"needed {self.persona.affect.rapport_needed:.2f})"
            )
        return True, ""

    def _rescue(self, clause: str, best_id: str | None, score: float) -> Statement | None:
        """A question the matcher could not place but that names a word only one positive, permitted statement
        uses ('any tightness?'): answer with it rather than deny what the case holds."""
        words = {w for w in content_words(clause) if len(w) >= 4}
        if not words:
            return None
        owners = [
            s
            for s in self._by_id.values()
            if not getattr(s, "negative", False)
            and s.tier != Tier.specific
            and words & content_words(" ".join([s.says, *s.asked_by]))
        ]
        if len(owners) != 1 or score < self.matcher.GRAY - 0.1:
            return None
        s = owners[0]
        if s.id in self.state.told or not self._permitted(s)[0]:
            return None
        return s

    def _nearest_unclear(self, cm: ClauseMatch) -> Statement | None:
        """A question just short of the matcher's threshold whose nearest statement stands clear of the next
        ('And it goes off when you stop?'), or is what the patient has just said ('And nobody explained you
        anything yet?'): answered with it rather than 'what do you mean?'. Never a `specific`, rapport or never
        statement, which need a close match."""
        ranked = sorted(cm.scores.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] < self.matcher.GRAY:
            return None
        s = self._by_id.get(ranked[0][0])
        if s is None:
            return None
        if s.id in self.state.last_told:
            return s  # asked again, less clearly
        clear = len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= self.matcher.MARGIN / 4
        if (
            ranked[0][1] < (self.matcher.GRAY + self.matcher.ASK) / 2
            or not clear
            or s.id in self.state.told
            or s.tier not in (Tier.volunteered, Tier.on_ask)
            or getattr(s, "negative", False)  # "Calves ache when you walk?" is not "my ankles are fine"
            or not self._permitted(s)[0]
        ):
            return None
        return s

    def _closeness(self, clause: str, best_id: str | None, score: float) -> float:
        """How close an unmatched question is to something the persona has, for choosing between asking
        back and denying: 0 when the nearest statement is a pertinent negative, or when a yes/no symptom
        question shares no content word with it (a denial then contradicts nothing)."""
        best = self._by_id.get(best_id or "")
        if best is None or getattr(best, "negative", False):
            return 0.0
        if _YES_NO_SYMPTOM.match(clause.strip()) and not content_words(clause) & self.matcher.vocabulary(best.id):
            return 0.0
        return score

    def _unlisted(self, clause: str, best: float) -> str:
        if self.matcher.GRAY <= best < self.matcher.ASK:
            return self.persona.small_talk.unclear
        if _YES_NO_SYMPTOM.match(clause.strip()) or _ELLIPTIC_SYMPTOM.search(clause.strip()):
            return self.persona.unlisted.symptom
        return self.persona.unlisted.unknown

    # ----------------------------------------------------------------- social moves
    def _identity(self, clause: str, d: _Draft) -> None:
        ident, p = self.persona.identity, self.persona
        if _CALL_Q.search(clause):
            d.say(stock.call_me(p), "answer")
        if _PRONOUN_Q.search(clause) and ident.pronouns:
            d.say(stock.pronouns(p), "answer")
        if _AGE_Q.search(clause):
            d.say(stock.age(p), "answer")
        asks_name, asks_dob = bool(_NAME_Q.search(clause)), bool(_DOB_Q.search(clause))
        if asks_name or asks_dob:
            fact = next((s for s in self._by_id.values() if s.topic == "identity"), None)
            if fact is not None and (asks_dob or not ident.date_of_birth):
                d.tell(fact)
            elif asks_name and asks_dob and ident.date_of_birth:
                d.say(stock.name_and_dob(p), "answer")
            elif asks_dob and ident.date_of_birth:
                d.say(stock.dob(p), "answer")
            elif asks_name:
                d.say(stock.name(p), "answer")
        if (
            _JOB_Q.search(clause)
            and ident.occupation
            and not any(s.topic == "occupation" for s in self._by_id.values())
        ):
            d.say(stock.occupation(p), "answer")

    def _language(self, clause: str, d: _Draft) -> None:
        c = self.persona.culture
        if _INTERPRETER_OFFER.search(clause):
            d.say(
                stock.wants_interpreter(self.persona) if c.interpreter_needed else stock.no_interpreter(), "small_talk"
            )
        else:
            d.say(stock.first_language(self.persona), "small_talk")

    def _small_talk(self, clause: str, d: _Draft) -> None:
        st = self.persona.small_talk
        if re.search(r"\bhow (?:are|have) you\b|how'?s it going|how are things", clause, re.I):
            if not self.state.opened and not self.state.told:
                if st.how_are_you:
                    d.say(st.how_are_you, "small_talk")
                else:
                    self._opening(d)
            else:
                d.say(st.how_are_you or stock.NOT_TOO_BAD, "small_talk")
            return
        d.say(st.chat, "small_talk")

    def _repeat_last(self, d: _Draft) -> None:
        if not self.state.history:
            d.say(self.persona.small_talk.pardon, "small_talk")
            return
        last = self.state.history[-1][1]
        first = sentences(last)[0] if last else ""
        d.say(f"I said, {lower_first(first, self._names)}" if first else self.persona.small_talk.pardon, "repeat")

    def _summary(self, text: str, d: _Draft) -> None:
        known = dict(self.state.told)
        for s in self._by_id.values():
            if s.id not in known and s.tier != Tier.never and self._permitted(s)[0]:
                known[s.id] = -1  # not told yet, but the patient would set a wrong detail straight
        restates, wrong = self.memory.check_summary(text, known)
        if wrong:
            part, s = wrong[0]
            d.kind = "answer"
            d.tell(s, f"Not quite. {self._relevant_sentence(part, s)}")
            d.notes.append(f"summary corrected: {part!r} -> {s.id}")
        else:
            d.say(self.persona.small_talk.confirm, "small_talk")
            if not restates:
                d.notes.append("summary of nothing told; confirmed")
            if len(text.split()) <= 20:  # "It's walking uphill that brings it on, is that right?": confirm the fact
                cm = self.matcher.match([text])[0]
                direct = sorted((m for m in cm.matches if m.by != "topic"), key=lambda m: -m.score)
                fact = direct[0].statement if direct else None
                if fact is not None and self._permitted(fact)[0]:
                    d.tell(fact, self._relevant_sentence(text, fact))

    def _reply_to_check(self, invited: bool, d: _Draft) -> None:
        """An invitation to ask questions, or a check of understanding."""
        bn = self.persona.bad_news
        own_after_news = self._next_own_question() if invited and bn and self.state.news_delivered else None
        if own_after_news is not None:
            d.say(own_after_news, "reaction")
            return
        if invited:
            own = self._own_question()
            d.say(own or self.persona.small_talk.no_questions, "small_talk")
            return
        d.say(self.persona.small_talk.understood, "small_talk")

    def _echoes_patient(self, clause: str) -> bool:
        """The clause repeats the patient's last words back (a reflection): most of its content words are theirs."""
        if not self.state.history:
            return False
        words = content_words(clause)
        return bool(words) and len(words & content_words(self.state.history[-1][1])) >= 0.75 * len(words)

    def _teach_back(self, clause: str, d: _Draft) -> bool:
        """Says back what the learner has told it, in its own words; False when it has been told nothing yet."""
        not_understood = self.state.heard_terms - self.state.explained_terms
        limit = 2 if self.persona.style.health_literacy == Level.low else 3
        said = teach_back.restate(
            self.state.informed,
            news=self._news_re,
            not_understood=not_understood,
            limit=limit,
            plans_first=teach_back.asks_for_plan(clause),
            names=self._names,
        )
        if said:
            d.say(said, "reaction")
        return bool(said)

    def _own_question(self) -> str | None:
        """The patient's concern or expectation, raised at a natural moment when not yet told."""
        for s in (self.persona.ice.concerns, self.persona.ice.expectations):
            if s.id not in self.state.told and self._permitted(s)[0] and not self.state.news_delivered:
                return s.says
        return None

    def _explained(self, reading: TurnReading, d: _Draft) -> None:
        long_and_fast = len(reading.text.split()) > 30
        if self.persona.culture.consultation_language_fluency == Level.low and long_and_fast:
            d.say(stock.SLOWLY, "reaction")
            return
        if self.persona.bad_news and self.state.news_delivered:
            self._take_in(d)
            return
        concern = self.persona.ice.concerns
        if concern.id not in self.state.told and self._permitted(concern)[0] and self.affect.anxiety >= 0.35:
            d.say(stock.UNDERSTOOD_SHORT, "reaction")
            d.tell(concern)
            return
        if reading.has(Move.reassurance):
            d.say(f"{stock.UNDERSTOOD_SHORT} {self.persona.small_talk.thanks}", "reaction")
            return
        if self.affect.anxiety >= 0.6:
            d.say(stock.SERIOUS, "reaction")
            return
        d.say(stock.UNDERSTOOD, "reaction")

    def _plan(self, reading: TurnReading, d: _Draft) -> None:
        if reading.has(Move.empathy, Move.reassurance) or _BELIEF_WORDS.search(reading.text):
            d.say(self.persona.small_talk.thanks, "small_talk")
        if self.affect.anger >= 0.5:
            d.say(stock.RELUCTANT, "reaction")
            return
        if _INVASIVE.search(reading.text) and self.affect.anxiety >= 0.5:
            d.say(stock.WHAT_INVOLVES, "reaction")
            return
        if self.persona.bad_news and self.state.news_delivered:
            self.state.unheard_turns += 1  # the patient's own questions wait for an opening (see _take_in)
            if self.affect.distress >= 0.8 and not self._said(stock.STUNNED):
                d.say(stock.STUNNED, "reaction")
                return
        view = self._view_of_plan(reading)
        if view is not None and view in d.told:
            # told as the answer to a question of this turn: the offer is still taken up, unless the words
            # spoken (a low-fluency patient says only a statement's first sentence) already do
            if not _ACCEPTS.search(" ".join(self._styled(p, d) for p in d.parts)):
                d.say(self.persona.small_talk.plan_accept, "reaction")
            return
        if view is not None and view.id in self.state.told:
            if not d.told:  # a view said before: briefly (its first sentence), and not after another repeat
                d.tell(view, f"{stock.AS_I_SAID} {lower_first(sentences(view.says)[0], self._names)}")
            return
        if view is not None:
            d.tell(view)
            return
        d.say(self.persona.small_talk.plan_accept, "reaction")

    def _view_of_plan(self, reading: TurnReading) -> Statement | None:
        """What the patient thinks of a proposed treatment, when the case says it: the untold statement whose
        example questions are proposals ("How would you feel about changing your tablets?") closest to the plan."""
        if not self._plan_views:
            return None
        scores: dict[str, float] = {}
        for cm in self.matcher.match([c.text for c in reading.clauses] or [reading.text]):
            for sid, score in cm.scores.items():
                scores[sid] = max(score, scores.get(sid, 0.0))
        ready = [s for s in self._plan_views if self._permitted(s)[0]]
        ranked = sorted(ready, key=lambda s: -scores.get(s.id, 0.0))
        if not ranked:
            return None
        floor = self.matcher.ASK if ranked[0].id in self.state.told else self.matcher.GRAY  # said again: clearly
        return ranked[0] if scores.get(ranked[0].id, 0.0) >= floor else None

    def _closing(self, reading: TurnReading, d: _Draft) -> None:
        if not reading.has(Move.closing):
            return
        bn = self.persona.bad_news
        if (
            bn is not None
            and self.state.news_delivered
            and not self.state.soothed_after_news
            and self.state.turn - self.state.news_turn <= 4
        ):
            self.affect.apply("blunt")
            d.say(bn.reactions.to_bluntness or stock.BLUNT, "reaction")
            return
        self.state.said_goodbye = True
        d.say(self.persona.small_talk.closing, "small_talk")

    def _social(self, reading: TurnReading, d: _Draft) -> None:
        st = self.persona.small_talk
        if reading.has(Move.reassurance) and _EXPLAINS_AWAY.search(reading.text):
            d.say(f"{stock.RELIEF} {st.thanks}", "reaction")  # "It didn't cause this": relief, then thanks
        elif reading.has(Move.empathy, Move.invitation_to_talk):
            if self.persona.bad_news and self.state.news_delivered:
                self._comforted_after_news(d, invited=reading.has(Move.invitation_to_talk))
                return
            secret = self._earned_secret() if reading.has(Move.invitation_to_talk) else None
            if secret is not None:
                d.tell(secret)
                return
            d.say(st.empathy, "small_talk")
        elif reading.has(Move.reassurance, Move.thanks):
            d.say(st.thanks, "small_talk")
        elif reading.has(Move.acknowledgement):
            d.say(self._short_ack(), "small_talk")
        elif reading.has(Move.greeting, Move.introduction):
            d.say(st.greeting, "small_talk")
        else:
            d.say(st.acknowledgement, "small_talk")

    def _earned_secret(self) -> Statement | None:
        """After an invitation to talk, a reluctant patient may now say what it was holding back (concerns)."""
        concern = self.persona.ice.concerns
        held_back = concern.tier == Tier.rapport or concern.id in self._reluctant
        if held_back and concern.id not in self.state.told and self.earned() and self._permitted(concern)[0]:
            return concern
        return None

    # ----------------------------------------------------------------- bad news
    def _own_question_after_news(self, clause: str, hits: list[Any], d: _Draft) -> bool:
        """'Is there anything else you're wondering about?' after the news: the patient's next own question;
        'anything on your mind that's worrying you?' asks for the worry, as it stands now that the news is known."""
        bn = self.persona.bad_news
        if bn is None or not self.state.news_delivered or not _AFTER_NEWS_OPEN.search(clause):
            return False
        concern = self.persona.ice.concerns.id
        names_worry = _WORRY.search(clause) is not None  # 'what else is on your mind?' is not about the worry
        if names_worry and any(
            m.statement.id == concern and (m.by == "keyword" or m.score >= self.matcher.ASK) for m in hits
        ):
            return False
        own = self._next_own_question()
        if own is None:
            return False
        d.say(own, "reaction")
        return True

    def _concerns_after_news(self, clause: str, hits: list[Any], d: _Draft) -> bool:
        bn = self.persona.bad_news
        if bn is None or not self.state.news_delivered:
            return False
        if not any(m.statement.id == self.persona.ice.concerns.id for m in hits):
            return False
        concern = self.persona.ice.concerns
        if not (self._news_re and self._news_re.search(concern.says)):
            return False  # the worry is not about what the news has now answered: still the patient's worry
        if any(
            m.statement.id != concern.id and m.statement.id not in self.state.told and self._permitted(m.statement)[0]
            for m in hits
            if m.by != "topic"
        ):
            hits[:] = [m for m in hits if m.statement.id != concern.id]
            return False  # "What is making you most scared?" after the news: the fear it now has, not the old worry
        still = [x for x in sentences(concern.says) if not self._news_re.search(x)]
        if still and not bn.reactions.concerns_after_news and self._permitted(concern)[0]:
            rest = re.sub(r"^(?:And|But|So),? (\w)", lambda m: m.group(1).upper(), " ".join(still))
            d.tell(concern, rest)  # what still worries the patient once the news is known
            return True
        if bn.reactions.concerns_after_news:
            d.say(bn.reactions.concerns_after_news, "reaction")
            return True
        own = self._next_own_question()
        if own is not None:
            d.say(own, "reaction")
        return own is not None

    def _comforted_after_news(self, d: _Draft, *, invited: bool) -> None:
        """Empathy after the news: the patient's reaction to it once; then thanks, and with an invitation to
        talk, its next own question."""
        bn = self.persona.bad_news
        assert bn is not None
        r = bn.reactions
        if r.to_empathy and "to_empathy" not in d.notes and not self._said(r.to_empathy):
            d.say(r.to_empathy, "reaction")
            d.notes.append("to_empathy")
            return
        own = self._next_own_question() if invited else None
        d.say(own or self.persona.small_talk.empathy, "reaction")

    def _next_own_question(self) -> str | None:
        """The patient's next question of its own after the news (`bad_news.reactions.later_questions`, in order)."""
        bn = self.persona.bad_news
        if bn is None or self.state.later_questions_asked >= len(bn.reactions.later_questions):
            return None
        self.state.later_questions_asked += 1
        self.state.unheard_turns = 0
        return bn.reactions.later_questions[self.state.later_questions_asked - 1]

    def _take_in(self, d: _Draft) -> None:
        """An explanation after the news: the patient takes it in. Its own questions wait for an opening (an
        invitation, a silence) unless the learner has gone on for three turns without one."""
        self.state.unheard_turns += 1
        if self.state.unheard_turns >= 3:
            own = self._next_own_question()
            if own is not None:
                d.say(own, "reaction")
                return
        if self.affect.distress >= 0.8 and not self._said(stock.STUNNED):
            d.say(stock.STUNNED, "reaction")
            return
        said_before = self.state.history and self.state.history[-1][1] == stock.UNDERSTOOD_SHORT
        d.say(self._short_ack() if said_before else stock.UNDERSTOOD_SHORT, "reaction")

    def _bad_news(self, reading: TurnReading, found: list[str], terms: list[str]) -> ReplyPlan | None:
        bn = self.persona.bad_news
        assert bn is not None and self._news_re is not None
        r = bn.reactions
        text = reading.text
        is_q = bool(reading.questions)
        names_news = bool(self._news_re.search(text))
        asks_news = is_q and bool(re.search(r"\b(?:is it|it'?s|could it be|might it be)\b", text, re.I))
        if not self.state.news_delivered and names_news and not (is_q and not asks_news and len(text.split()) < 8):
            self.state.news_delivered = True
            self.state.news_turn = self.state.turn
            self.affect.apply("bad_news")
            if not self.state.warned:
                self.affect.apply("blunt")
            news_terms = [t.lower() for t in self._news_re.findall(text)]
            unexplained = {j.lower() for j in jargon.unexplained(text)}
            jargon_only = bool(terms) and all(t in unexplained for t in news_terms)
            if jargon_only and r.to_jargon:
                return ReplyPlan(
                    "reaction", r.to_jargon, acts=[*found, "news_delivered"], notes=["news given in jargon only"]
                )
            reaction = r.to_news
            if not self.state.warned and self.affect.anger >= 0.3:
                reaction = f"{reaction} {stock.NO_WARNING}"
            return ReplyPlan("reaction", reaction, acts=[*found, "news_delivered"])
        if not self.state.news_delivered and not self.state.warned and moves.warning_shot(text) and not is_q:
            self.state.warned = True
            self.affect.apply("warning_shot")
            if r.to_warning_shot:
                return ReplyPlan("reaction", r.to_warning_shot, acts=[*found, "warning_shot"])
        quiet = not reading.has(
            Move.closing,
            Move.plan,
            Move.summary,
            Move.permission,
            Move.safety_net,
            Move.explanation,
            Move.reassurance,
            Move.check_understanding,
            Move.invite_questions,
            Move.tag,
        )
        if self.state.news_delivered and not is_q and quiet:
            if reading.has(Move.empathy, Move.invitation_to_talk) and r.to_empathy and not self._said(r.to_empathy):
                return ReplyPlan("reaction", r.to_empathy, acts=found)
            if reading.has(Move.empathy) and not reading.has(Move.invitation_to_talk):
                # comforted again: thanks; the patient's own questions wait for an opening or a silence
                return ReplyPlan("reaction", self.persona.small_talk.empathy, acts=found)
            if len(text.split()) > 8:  # information the reader did not name: taken in like an explanation
                d = _Draft()
                self._take_in(d)
                return ReplyPlan("reaction", " ".join(d.parts), acts=found)
            q = None if reading.has(Move.safety_net) else self._next_own_question()
            if q is not None:  # a silence, a short remark: the patient's next question
                return ReplyPlan("reaction", q, acts=found)
        return None

    def _said(self, text: str) -> bool:
        return any(text in patient for _, patient in self.state.history)

    def _jargon(self, text: str) -> tuple[list[str], set[str]]:
        """The medical terms and abbreviations left unexplained, and those explained in place (remembered: a
        recap may use them later). Terms the patient uses in its own words ("my CT scan") are not jargon."""
        terms = [t for t in jargon.unexplained(text) if t not in self._own_terms]
        spelt_out: set[str] = set()
        for word, pos in jargon.acronyms(text):
            if word in self._own_acronyms:
                continue
            if jargon.acronym_explained(text, word, pos):
                spelt_out.add(word)
            else:
                terms.append(word)
        defined = {t for t in terms if _defined_here(text, t)} | spelt_out
        return [t for t in terms if t not in defined], defined
