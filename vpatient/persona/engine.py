"""The grounded persona engine, scripted mode.

Each learner utterance is split into clauses; each clause is mapped to persona statements
(matching.py); disclosure rules decide what may be told now; the reply is built from the persona's
own words. No LLM is involved, so nothing is ever invented: questions about things the persona does
not mention get its pertinent-negative or "I don't know" answers. The same `plan()` feeds the LLM
mode, which may only rephrase the eligible statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from vpatient.embeddings import Embedder
from vpatient.language import acts, jargon, moves
from vpatient.language.words import content_words
from vpatient.persona.affect import AffectState
from vpatient.persona.matching import Matcher
from vpatient.persona.schema import Level, Persona, Statement, Tier

Kind = Literal["answer", "opening", "volunteer", "unlisted", "clarify", "small_talk", "reaction", "deflect"]

MAX_STATEMENTS = {Level.low: 2, Level.medium: 4, Level.high: 5}
"""How many statements one reply may tell, by talkativeness."""

_YES_NO_SYMPTOM = re.compile(
    r"^(?:(?:so|and|okay|ok|right|um|now|also)[,\s]+)*(?:do you (?:have|get|ever|feel|suffer|notice)|"
    r"have you (?:had|got|noticed|felt|been|ever|experienced|seen)|are you (?:getting|having|feeling|experiencing)|"
    r"any(?:thing)?\b|is there any|has there been|did you (?:have|get|notice|feel)|does it|is it|"
    r"ever had|been having)",
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
    r"what'?s (?:been )?(?:going on|happening|the problem|brought you)|how are you (?:today|doing))\b",
    re.I,
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
class ConversationState:
    told: dict[str, int] = field(default_factory=dict)
    """Statement id -> learner turn at which it was first told."""
    turn: int = 0
    opened: bool = False
    news_delivered: bool = False
    warned: bool = False
    later_questions_asked: int = 0
    history: list[tuple[str, str]] = field(default_factory=list)
    """(learner utterance, patient reply) pairs."""


class ScriptedEngine:
    """The rule-based persona engine; also the fallback of the LLM mode."""

    mode = "scripted"

    def __init__(self, persona: Persona, embedder: Embedder):
        self.persona = persona
        self.matcher = Matcher(persona, embedder)
        self.state = ConversationState()
        self.affect = AffectState.from_persona(persona.affect)
        self._by_id = {s.id: s for s in persona.statements()}
        own_words = [persona.opening_line, persona.presenting_complaint, *(s.says for s in persona.statements())]
        self._own_terms = set(jargon.find_terms(" ".join(own_words)))
        self._volunteered = [s for s in persona.statements() if s.tier == Tier.volunteered]
        self._news_re = (
            re.compile(r"\b(?:" + "|".join(re.escape(t) for t in persona.bad_news.news_terms) + r")\b", re.I)
            if persona.bad_news
            else None
        )

    # ----------------------------------------------------------------- public API
    def respond(self, utterance: str, *, interrupted: bool = False) -> Reply:
        plan = self.plan(utterance, interrupted=interrupted)
        return self.commit(utterance, plan, plan.text)

    def plan(self, utterance: str, *, interrupted: bool = False) -> ReplyPlan:
        """Decide what may be said. Affect and the bad-news state move here; commit() records what was told."""
        text = utterance.strip()
        found_acts = self._acts(text, interrupted)
        for move in ("introduction", "open_question", "empathy", "jargon", "interruption", "dismissive"):
            if move in found_acts:
                self.affect.apply(move)
        if not text:
            return ReplyPlan("small_talk", self._small("silence", "Sorry, doctor?"), acts=found_acts)
        if self.persona.bad_news is not None:
            reaction = self._bad_news(text, found_acts)
            if reaction is not None:
                return reaction
        if "jargon" in found_acts and self.persona.style.health_literacy == Level.low:
            terms = self._jargon(text)
            return ReplyPlan(
                "clarify",
                self.persona.unlisted.clarify,
                acts=found_acts,
                notes=[f"unexplained jargon: {', '.join(terms)}"],
            )
        return self._answer(text, found_acts)

    def commit(self, utterance: str, plan: ReplyPlan, spoken: str, *, mode: str | None = None) -> Reply:
        """Record the reply actually given (scripted or rephrased) and return it with its metadata."""
        self.state.turn += 1
        for s in plan.statements:
            self.state.told.setdefault(s.id, self.state.turn)
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

    # ----------------------------------------------------------------- internals
    def _small(self, key: str, default: str) -> str:
        return self.persona.small_talk.get(key, default)

    def _acts(self, text: str, interrupted: bool) -> list[str]:
        found: list[str] = []
        if acts.is_greeting(text):
            found.append("greeting")
        if acts.is_introduction(text):
            found.append("introduction")
        cl = acts.clauses(text)
        if any(acts.is_open_question(c) for c in cl):
            found.append("open_question")
        elif any(acts.is_question(c) for c in cl):
            found.append("closed_question")
        if acts.is_empathic(text):
            found.append("empathy")
        if self._jargon(text):
            found.append("jargon")
        if interrupted:
            found.append("interruption")
        if acts.is_dismissive(text):
            found.append("dismissive")
        if acts.is_closing(text):
            found.append("closing")
        if acts.is_thanks(text):
            found.append("thanks")
        return found

    def _jargon(self, text: str) -> list[str]:
        """Unexplained medical terms, except those the patient uses in their own words ("my CT scan")."""
        return [t for t in jargon.unexplained(text) if t not in self._own_terms]

    def _permitted(self, s: Statement) -> tuple[bool, str]:
        if s.tier == Tier.never:
            return False, f"{s.id}: tier never"
        missing = [r for r in s.requires if r not in self.state.told]
        if missing:
            return False, f"{s.id}: requires {', '.join(missing)} first"
        if s.tier == Tier.rapport:
            needed = self.persona.affect.rapport_needed
            if self.persona.style.cooperativeness == Level.low:
                needed = min(1.0, needed + 0.1)
            if self.affect.rapport < needed and s.id not in self.state.told:
                return False, f"{s.id}: rapport {self.affect.rapport:.2f} < {needed:.2f}"
        return True, ""

    def _answer(self, text: str, found_acts: list[str]) -> ReplyPlan:
        clauses = acts.clauses(text) or [text]
        questions = [c for c in clauses if acts.is_question(c)]
        matches = self.matcher.match(clauses)
        told: list[Statement] = []
        parts: list[str] = []
        notes: list[str] = []
        topics: list[str] = []
        kind: Kind = "answer"
        limit = MAX_STATEMENTS[self.persona.style.talkativeness]
        unmatched: list[tuple[str, float]] = []
        for cm in matches:
            if cm.clause not in questions:
                continue  # statements ("I've got your results here") disclose nothing; questions do
            hits = cm.matches
            invited = moves.invites_questions(cm.clause)
            if not hits and (invited or moves.checks_understanding(cm.clause)):
                parts.append(self._reply_to_check(invited))
                continue
            if _FIRST_OPEN.search(cm.clause) and not self.state.opened and self.state.turn < 6:
                kind = "opening"
                parts.append(self.persona.opening_line)
                first = next((s for s in self._volunteered if s.id not in self.state.told), None)
                if first is not None and not first.requires:
                    told.append(first)
                    parts.append(first.says)
                continue
            if _OPEN_GENERIC.search(cm.clause) and not hits:
                fresh = [s for s in self._volunteered if s.id not in self.state.told and s not in told]
                fresh = [s for s in fresh if self._permitted(s)[0]][:2]
                if fresh:
                    told += fresh
                    parts += [s.says for s in fresh]
                    kind = "volunteer" if kind == "answer" else kind
                else:
                    parts.append(self._small("nothing_else", "I think that's everything, really."))
                continue
            if not hits:
                unmatched.append((cm.clause, self._closeness(cm.clause, cm.best_id, cm.best_score)))
                continue
            withheld: list[Statement] = []
            for m in hits:
                s = m.statement
                if s in told:
                    continue
                ok, why = self._permitted(s)
                if not ok:
                    notes.append(f"withheld {why}")
                    withheld.append(s)
                    continue
                if len(told) >= limit:
                    notes.append(f"held back {s.id}: {limit} statements per reply")
                    continue
                told.append(s)
                parts.append(s.says)
                if s.topic not in topics:
                    topics.append(s.topic)
            if withheld and not any(m.statement in told for m in hits):
                # Everything asked for here is held back: deflect, or say what a patient who doesn't know says.
                s0 = withheld[0]
                cover = s0.deflection if s0.tier == Tier.rapport and s0.deflection else self.persona.unlisted.unknown
                if cover not in parts:
                    parts.append(cover)
                kind = "deflect" if kind == "answer" else kind
        for clause, best in unmatched:
            answer = self._unlisted(clause, best)
            if answer not in parts:
                parts.append(answer)
            notes.append(f"unlisted: {clause!r}")
            if kind == "answer" and not told:
                kind = "unlisted"
        if not parts:
            return self._social(text, found_acts)
        return ReplyPlan(kind, " ".join(parts), told, found_acts, notes, topics)

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

    def _reply_to_check(self, invited: bool) -> str:
        """An invitation to ask questions, or a check of understanding."""
        bn = self.persona.bad_news
        if (
            invited
            and bn
            and self.state.news_delivered
            and self.state.later_questions_asked < len(bn.reactions.later_questions)
        ):
            self.state.later_questions_asked += 1
            return bn.reactions.later_questions[self.state.later_questions_asked - 1]
        if invited:
            return self._small("no_questions", "No, I think that's everything, thanks.")
        return self._small("understood", "Yes, I think so.")

    def _unlisted(self, clause: str, best: float) -> str:
        if self.matcher.GRAY <= best < self.matcher.ASK:
            # Close to something the persona has (not a pertinent negative) but unclear: ask, never deny.
            return self._small("unclear", "Sorry, what do you mean exactly?")
        if _YES_NO_SYMPTOM.match(clause.strip()):
            return self.persona.unlisted.symptom
        return self.persona.unlisted.unknown

    def _social(self, text: str, found_acts: list[str]) -> ReplyPlan:
        if "closing" in found_acts:
            return ReplyPlan("small_talk", self._small("closing", "Thank you, doctor. Bye."), acts=found_acts)
        if "empathy" in found_acts:
            return ReplyPlan("small_talk", self._small("empathy", "Thank you, doctor."), acts=found_acts)
        if "greeting" in found_acts or "introduction" in found_acts:
            return ReplyPlan("small_talk", self._small("greeting", "Hello, doctor."), acts=found_acts)
        if moves.summary_marker(text):
            return ReplyPlan("small_talk", self._small("confirm", "Yes, that's right."), acts=[*found_acts, "summary"])
        if "thanks" in found_acts:
            return ReplyPlan("small_talk", self._small("thanks", "Thank you."), acts=found_acts)
        return ReplyPlan("small_talk", self._small("acknowledgement", "Okay."), acts=found_acts)

    def _bad_news(self, text: str, found_acts: list[str]) -> ReplyPlan | None:
        bn = self.persona.bad_news
        assert bn is not None and self._news_re is not None
        r = bn.reactions
        is_q = any(acts.is_question(c) for c in acts.clauses(text))
        names_news = bool(self._news_re.search(text))
        if not self.state.news_delivered and names_news and not is_q:
            self.state.news_delivered = True
            self.affect.apply("bad_news")
            jargon_only = "jargon" in found_acts and all(
                t in {j.lower() for j in jargon.unexplained(text)} for t in self._news_re.findall(text.lower())
            )
            if jargon_only and r.to_jargon:
                return ReplyPlan(
                    "reaction", r.to_jargon, acts=[*found_acts, "news_delivered"], notes=["news given in jargon only"]
                )
            return ReplyPlan("reaction", r.to_news, acts=[*found_acts, "news_delivered"])
        if not self.state.news_delivered and not self.state.warned and moves.warning_shot(text) and not is_q:
            self.state.warned = True
            self.affect.apply("warning_shot")
            if r.to_warning_shot:
                return ReplyPlan("reaction", r.to_warning_shot, acts=[*found_acts, "warning_shot"])
        if self.state.news_delivered and not is_q:
            if "empathy" in found_acts and r.to_empathy:
                return ReplyPlan("reaction", r.to_empathy, acts=found_acts)
            if self.state.later_questions_asked < len(r.later_questions) and "closing" not in found_acts:
                q = r.later_questions[self.state.later_questions_asked]
                self.state.later_questions_asked += 1
                return ReplyPlan("reaction", q, acts=found_acts)
        return None
