"""What the patient remembers of the consultation, and answers found in what it has already said.

The conversation state (what was told and when, the last reply, the greeting and the news) lives here, and
so do the rules that answer from it:
- a follow-up ("how long's that been going on?", "how old was he when he passed?") is answered with the
  sentence of a statement just told that fits the question's kind (a time, an age, a person, a place...);
- a question about a person, place or thing the patient itself named ("who's Carol?") is answered with the
  sentence of the persona that names it;
- a learner's summary is checked against what was told: confirmed, or corrected where a number, a unit or
  a yes/no differs.
Everything said comes from the persona's own words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from vpatient.language.acts import sentences
from vpatient.language.words import content_words
from vpatient.persona.grounding import negated, numbers
from vpatient.persona.schema import Persona, Statement

_WH_KIND: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    (
        "age",
        re.compile(r"\b(?:how old|what age|at what age|age was|aged?)\b", re.I),
        re.compile(r"\b(?:\d+|aged?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\w*)\b", re.I),
    ),
    (
        "duration",
        re.compile(
            r"\b(?:how long|since when|when did|when was|when (?:had|have)|how many (?:years|months|weeks))", re.I
        ),
        re.compile(
            r"\b(?:since|ago|for (?:about |around |nearly |almost )?(?:a|an|\w+) (?:years?|months?|weeks?|days?)|"
            r"years?|months?|weeks?|days?|when (?:i|he|she|we) was|at \d+|last (?:year|month|week))\b",
            re.I,
        ),
    ),
    (
        "frequency",
        re.compile(r"\b(?:how often|how many times|how frequent)", re.I),
        re.compile(
            r"\b(?:(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many|few) times|(?:a|per|each) "
            r"(?:day|week|month)|every (?:day|week|night|morning)|daily|weekly|most days|once|twice)\b",
            re.I,
        ),
    ),
    (
        "amount",
        re.compile(r"\b(?:how (?:much|many)|what dose|how strong)\b", re.I),
        re.compile(
            r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|a few|couple|"
            r"milligrams?|mg|units?|pints?|a day|a week)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(r"\b(?:where|whereabouts|which (?:hospital|place|town|country))\b", re.I),
        re.compile(r"\b(?:in|at|from|to|behind|into|near)\b", re.I),
    ),
    (
        "person",
        re.compile(r"\bwho\b", re.I),
        re.compile(
            r"(?i:\b(?:my|his|her|our) (?:\w+ )?(?:wife|husband|partner|son|daughter|mum|mother|dad|father|"
            r"brother|sister|friend|boss|neighbou?r|children|kids|family|grandchild\w*)\b)|(?<!^)\b[A-Z][a-z]{2,}\b"
        ),
    ),
]
_ANAPHORA = re.compile(r"\b(?:it|that|this|those|these|they|them|he|she|him|her|his|there|then)\b", re.I)
_PRONOUN_PERSON = re.compile(r"\b(?:he|she|him|her|his|they|them)\b", re.I)
_KIN_WORDS = (
    "wife|husband|partner|son|daughter|mum|mother|dad|father|brother|sister|grandmother|grandfather|"
    "nan|gran|grandad|aunt|uncle|cousin|friend|boss|children|kids|baby|twins?|niece|nephew|boyfriend|girlfriend|"
    "fianc[eé]e?|flatmate|housemate|carer|neighbou?r|colleague"
)
_KIN = re.compile(rf"\b(?:{_KIN_WORDS})\b", re.I)
_NOT_ENTITIES = frozenset(
    [
        "I",
        "I'm",
        "I've",
        "I'd",
        "I'll",
        "It",
        "It's",
        "My",
        "The",
        "A",
        "An",
        "And",
        "But",
        "So",
        "No",
        "Yes",
        "He",
        "She",
        "They",
        "We",
        "Oh",
        "Well",
        "Mm",
        "Sorry",
        "Doctor",
        "Dr",
        "Mr",
        "Mrs",
        "Ms",
        "Okay",
        "Honestly",
        "Just",
        "Maybe",
        "Sometimes",
        "Then",
        "That",
        "This",
        "There",
        "What",
        "When",
        "Not",
        "Nothing",
        "Only",
        "Our",
        "Once",
        "Twice",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
)
_UNITS = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "hour": "hour",
    "hours": "hour",
    "minute": "minute",
    "minutes": "minute",
    "pint": "pint",
    "pints": "pint",
    "cigarette": "cigarette",
    "cigarettes": "cigarette",
    "a day": "per_day",
    "a week": "per_week",
}
_CONTRASTS = [
    {"left", "right"},
    {"morning", "afternoon", "evening", "night"},
    {"mum", "mother", "dad", "father"},
    {"wife", "husband"},
    {"son", "daughter"},
    {"brother", "sister"},
    {"upper", "lower"},
    {"better", "worse"},
    {"sharp", "dull", "tight", "tightness", "burning", "crushing"},
]
_SAME = [{"mum", "mother"}, {"dad", "father"}, {"tight", "tightness"}]
_QTY = re.compile(
    r"\b(\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|a couple of|a few|a|an)\s+(days?|weeks?|months?|years?|hours?|"
    r"minutes?|pints?|cigarettes?)\b",
    re.I,
)


@dataclass
class ConversationState:
    told: dict[str, int] = field(default_factory=dict)
    """Statement id -> learner turn at which it was first told."""
    turn: int = 0
    opened: bool = False
    greeted: bool = False
    news_delivered: bool = False
    news_turn: int = -1
    warned: bool = False
    later_questions_asked: int = 0
    unheard_turns: int = 0
    """Explanations and plans since the news without a chance for the patient's own questions."""
    earned: int = 0
    """Moves that earn rapport-tier disclosure so far (empathy, acknowledgement of feelings, invitations)."""
    soothed_after_news: bool = False
    """The learner has shown empathy or offered a plan since the news."""
    hurt_said: bool = False
    said_goodbye: bool = False
    explained_terms: set[str] = field(default_factory=set)
    """Medical terms the learner has explained (or had the chance to, after the patient asked)."""
    pending_terms: set[str] = field(default_factory=set)
    """Terms the patient has just asked about."""
    heard_terms: set[str] = field(default_factory=set)
    """Every term the learner has used; the patient asks about a term once at most."""
    informed: list[tuple[str, bool]] = field(default_factory=list)
    """The learner's clauses that gave information (explanations, news, plans, advice), for teach-back, each
    with whether it proposed a plan."""
    last_told: list[str] = field(default_factory=list)
    """Ids told in the last reply (what a follow-up refers to)."""
    history: list[tuple[str, str]] = field(default_factory=list)
    """(learner utterance, patient reply) pairs."""


def proper_names(text: str) -> set[str]:
    """Capitalised words that are not sentence-initial: names of people and places ('Carol', 'Sean')."""
    out = set()
    for m in re.finditer(r"(?<![.!?]\s)(?<!^)(?<![.!?]\s\s)\b([A-Z][a-z]{2,})\b", text.strip()):
        if m.group(1) not in _NOT_ENTITIES:
            out.add(m.group(1))
    return out


_MINUTES = {"minute": 1.0, "hour": 60.0, "day": 1440.0, "week": 10080.0, "month": 43800.0, "year": 525600.0}


def _other_unit(said: dict[str, set[float]], case: dict[str, set[float]]) -> float | None:
    """The same number with another unit of time ('three months' where the case says 'three weeks'): how far
    apart the units are (log of their ratio), or None."""
    gaps = [
        abs(math.log(_MINUTES[u] / _MINUTES[unit]))
        for unit, values in said.items()
        if unit in _MINUTES and unit not in case
        for u, v in case.items()
        if u in _MINUTES and values & v
    ]
    return min(gaps) if gaps else None


def quantities(text: str) -> dict[str, set[float]]:
    """Quantities with units: 'three weeks' -> {'week': {3.0}}."""
    out: dict[str, set[float]] = {}
    for m in _QTY.finditer(text):
        value_text = m.group(1).lower()
        if value_text in ("a", "an"):
            value = 1.0
        elif value_text == "a couple of":
            value = 2.0
        elif value_text == "a few":
            value = 3.0
        else:
            nums = numbers(value_text)
            if not nums:
                continue
            value = next(iter(nums))
        unit = _UNITS.get(m.group(2).lower(), m.group(2).lower())
        out.setdefault(unit, set()).add(value)
    return out


def _contrast(part: str, sent: str) -> bool:
    """The part names one of a set of alternatives (left/right, morning/evening...) where the statement names
    another and not this one."""
    pw = set(re.findall(r"[a-z]+", part.lower()))
    sw = set(re.findall(r"[a-z]+", sent.lower()))
    for group in _CONTRASTS:
        said, claimed = group & sw, group & pw
        if not said or not claimed:
            continue
        same = any(claimed & g and said & g for g in _SAME)
        if not claimed & said and not same:
            return True
    return False


class Memory:
    """Answers from what the persona says, sentence by sentence, for follow-ups, entities and summaries."""

    def __init__(self, persona: Persona):
        self.persona = persona
        self.statements = persona.statements()
        self.by_id = {s.id: s for s in self.statements}
        self.units: list[tuple[Statement, str]] = [(s, sent) for s in self.statements for sent in sentences(s.says)]
        self._words = {s.id: content_words(s.says) for s in self.statements}
        df: dict[str, int] = {}
        for words in self._words.values():
            for w in words:
                df[w] = df.get(w, 0) + 1
        self._idf = {w: math.log(1 + len(self.statements) / n) for w, n in df.items()}
        texts = [persona.opening_line, persona.presenting_complaint, *(s.says for s in self.statements)]
        self.names = {n.lower() for t in texts for n in proper_names(t)}
        self.entities: dict[str, list[tuple[Statement, str]]] = {}
        for s, sent in self.units:
            for name in self._names_in(sent):
                self.entities.setdefault(name, []).append((s, sent))

    def _names_in(self, text: str) -> set[str]:
        return {w.lower() for w in re.findall(r"[A-Za-z]+", text) if w.lower() in self.names}

    # ------------------------------------------------------------------ follow-ups
    @staticmethod
    def question_kind(clause: str) -> tuple[str, re.Pattern[str]] | None:
        for kind, asks, answers in _WH_KIND:
            if asks.search(clause):
                return kind, answers
        return None

    def follow_up(self, clause: str, last_ids: list[str]) -> tuple[Statement, str] | None:
        """The sentence of a statement just told that answers a follow-up question, or None.

        Only for clauses that lean on what was just said (a pronoun, 'that', or no content word of their
        own) and that ask for a kind of detail (how long, how old, how often, where, who)."""
        if not last_ids:
            return None
        kind = self.question_kind(clause)
        if kind is None or not (_ANAPHORA.search(clause) or len(content_words(clause)) <= 1):
            return None
        name, answers = kind
        named = self._names_in(clause)
        candidates = [
            (s, sent)
            for s, sent in self.units
            if s.id in last_ids and answers.search(sent) and named <= self._names_in(sent)
        ]
        if name == "person" and not candidates:
            return None
        if not candidates:
            return None
        words = content_words(clause)
        # Prefer the sentence sharing most words with the question, then the later one ("died ... at 61").
        scored = sorted(
            enumerate(candidates),
            key=lambda ic: (len(words & content_words(ic[1][1])), ic[0]),
            reverse=True,
        )
        if name == "age" and re.search(r"\b(?:died|passed|death|lost)\b", clause, re.I):
            dying = [c for c in candidates if re.search(r"\b(?:died|passed|death|lost)\b", c[1], re.I)]
            if dying:
                return dying[-1]
        return scored[0][1]

    def person_referent(self, clause: str, last_ids: list[str]) -> bool:
        """Whether a clause's he/she/they refers to someone in the statements just told."""
        if not _PRONOUN_PERSON.search(clause):
            return False
        return any(_KIN.search(self.by_id[i].says) or self._names_in(self.by_id[i].says) for i in last_ids)

    def about_entity(
        self, clause: str, told: dict[str, int], permitted: Callable[[Statement], bool]
    ) -> tuple[Statement, str] | None:
        """'Who's Carol?', 'Who is Sean?': the sentence of the persona that names the person, preferring one
        already told, if that statement may be told now."""
        names = self._names_in(clause)
        if not names or not re.search(r"\bwho\b", clause, re.I):
            return None  # only "who's Carol?"-like questions; the topic matcher reads the rest
        for name in names:
            hits = self.entities.get(name, [])
            defining = re.compile(
                rf"\b(?:my|our|his|her) (?:\w+ )?(?:{_KIN_WORDS}),? {name}\b|\b{name}(?:,| is| was|'s) (?:my|our)\b",
                re.I,
            )
            words = content_words(clause) - {name[:5]}
            ranked = sorted(
                hits,
                key=lambda h: (-len(words & content_words(h[1])), not defining.search(h[1]), h[0].id not in told),
            )
            for s, sent in ranked:
                if s.id in told or permitted(s):
                    return s, sent
        return None

    # ------------------------------------------------------------------ summaries
    def check_summary(self, summary: str, told: dict[str, int]) -> tuple[bool, list[tuple[str, Statement]]]:
        """(restates something told, [(wrong part, statement that corrects it)]).

        A part is wrong when it shares words with a told statement but gives another quantity for the same
        unit, the same number with another unit, or the opposite yes/no."""
        told_statements = [s for s in self.statements if s.id in told]
        restates = False
        wrong: list[tuple[str, Statement]] = []
        for part in re.split(r"(?<=[.?!,;])\s+|\s+and\s+", summary):
            words = content_words(part)
            if len(words) < 1:
                continue
            best = None
            best_weight = 0.0
            best_overlap = 0
            for st in told_statements:
                shared = words & self._words[st.id]
                weight = sum(self._idf.get(w, 1.0) for w in shared)
                if weight > best_weight:
                    best_weight, best_overlap = weight, len(shared)
                    sents = sentences(st.says)
                    sent = max(sents, key=lambda x: len(words & content_words(x)))
                    best = (st, sent)
            if best is None:
                continue
            restates = True
            s, sent = best
            q_part, q_sent = quantities(part), quantities(s.says)
            conflict = False
            for unit, values in q_part.items():
                if unit in q_sent and not values & q_sent[unit]:
                    conflict = True
                elif unit not in q_sent and q_sent and any(values & v for v in q_sent.values()):
                    conflict = True  # "three months" where the patient said "three weeks"
            if not q_part and numbers(part) and numbers(sent) and not numbers(part) & numbers(s.says):
                conflict = best_overlap >= 2
            if not conflict and q_part and not set(q_part) & set(q_sent):
                # "a tightness in your chest for about three months": the part is nearest the statement about
                # the chest, but its quantity is the one the patient gave elsewhere ("about three weeks ago")
                gaps = sorted(
                    ((g, st) for st in told_statements if (g := _other_unit(q_part, quantities(st.says))) is not None),
                    key=lambda x: x[0],
                )
                if gaps and (len(gaps) == 1 or gaps[0][0] < gaps[1][0]):
                    s, conflict = gaps[0][1], True  # the nearest unit: months are mistaken for weeks, not minutes
            if _contrast(part, sent):
                conflict = True
            if negated(part) != negated(sent) and best_overlap >= 2 and not re.search(r"\?\s*$", part):
                conflict = conflict or bool(re.search(r"\b(?:no|not|never|don'?t|doesn'?t|haven'?t)\b", part, re.I))
            if conflict and all(s is not w[1] for w in wrong):
                wrong.append((part.strip(), s))
        return restates, wrong
