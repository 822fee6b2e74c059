"""Map a learner's question to persona statements: embedding similarity to example questions plus rules.

A statement is *asked about* when a clause of the utterance is close to one of its example questions
(or its own words), or names one of its keywords or its topic's keywords. Statements of the same topic
are asked about together, except `specific` ones, which need a close match of their own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vpatient.embeddings import Embedder
from vpatient.language.colloquial import plain
from vpatient.language.words import content_words, proper_names
from vpatient.patterns import FacultyPattern, check, compile_alternatives
from vpatient.persona.schema import Persona, Statement, Tier

# Words that point to a common history topic; applied only to topics the persona uses.
TOPIC_KEYWORDS: dict[str, list[str]] = {
    # SOCRATES for the presenting complaint
    "onset": [
        r"when did (?:it|this|the \w+|they|you first)",
        r"how long (?:have|has|ago)",
        r"when (?:was|were) the first",
        r"first (?:start|notice|began)\w*",
        r"since when",
    ],
    "site": [
        r"where (?:is|was|does|do you (?:feel|get)|exactly|about|abouts)",
        r"whereabouts",
        r"which (?:part|side)",
        r"point to",
        r"show me where",
    ],
    "character": [
        r"what (?:does|did) (?:it|the \w+) feel like",
        r"what(?:'s| is) (?:it|the \w+) like",
        r"describe (?:it|the \w+|what it feels)",
        r"what (?:kind|sort|type) of (?:pain|feeling)",
        r"sharp or dull",
        r"(?:dull|sharp|burning|crushing|stabbing|throbbing|aching)\b",
    ],
    "radiation": [
        r"radiat\w*",
        r"spread\w*",
        r"go anywhere",
        r"move anywhere",
        r"go (?:down|up|into|to) (?:your|the)",
        r"anywhere else",
        r"(?:does|did|do) (?:it|the \w+|they)\W+(?:(?:um|uh|erm|er|ever)\W+)*(?:travel|move|shoot|go) (?:anywhere|to|"
        r"down|up|round|into|through)",
        r"(?:travel|move|shoot|go)\w* (?:\w+ ){0,3}(?:to|into|down|up|round|through) (?:your|the|my) "
        r"(?:back|arms?|legs?|neck|jaw|shoulders?|groin|side)",
    ],
    "triggers": [
        r"brings? (?:it|them|this) on",
        r"set (?:it|them) off",
        r"trigger\w*",
        r"make (?:it|them|things) worse",
        r"worse (?:with|when|if|after)",
        r"makes? it come on",
        r"comes? on (?:when|if|with|after|during|while)",
    ],
    "relieving_factors": [
        r"(?:make|makes|made) (?:it|them|things) (?:a (?:bit|little|lot) |any )?(?:better|settle|ease|easier|go away)",
        r"settle",
        r"(?:does|did|has) anything help",
        r"help(?:s|ed)? (?:it|the)",
        r"eases?",
        r"reliev\w*",
        r"go away",
        r"(?:make|makes|made) (?:it|them|the \w+) (?:go|stop)\b(?!\s+(?:on|up|down|into|to|through|anywhere|round))",
    ],
    "severity": [
        r"how (?:bad|severe|painful|strong)",
        r"out of (?:10|ten)",
        r"(?:scale|score) (?:of|from)",
        r"severity",
    ],
    "frequency": [r"how often", r"how many times (?:a|per|each) (?:day|week|month)", r"how frequent\w*"],
    "episode_duration": [
        r"how long (?:does|do|did) (?:it|each|an?|the) (?:\w+ )?(?:last|go on|stay)",
        r"how long (?:does|do) (?:it|they) (?:last|go on) for",
    ],
    "smoking": [r"smok\w*", r"cigarettes?", r"tobacco", r"vap(?:e|ing)", r"roll[- ]ups?", r"pack[- ]years?"],
    "alcohol": [
        r"alcohol",
        r"drink(?:ing)? (?:at all|much|alcohol|regularly|a lot|socially)",
        r"\bdrink(?:ing)?\W*$",
        r"how much (?:do|would) you drink",
        r"pints?",
        r"units",
        r"wine",
        r"beers?",
        r"spirits",
        r"booze",
    ],
    "medications": [
        r"medications?",
        r"medicines?",
        r"meds",
        r"tablets?",
        r"pills?",
        r"prescri\w+",
        r"over the counter",
    ],
    "allergies": [r"allerg\w*"],
    "family_history": [
        r"family history",
        r"runs? in (?:the|your) family",
        r"(?:your|any) (?:parents|mum|dad|mother|father|"
        r"brothers?|sisters?|siblings|relatives)",
        r"family members?",
    ],
    "past_medical_history": [
        r"medical (?:history|conditions?|problems?)",
        r"past (?:medical )?history",
        r"operations?",
        r"surgery",
        r"(?:long[- ]term|chronic|other) (?:conditions?|illness(?:es)?|health problems?)",
        r"been in hospital",
        r"health problems?",
    ],
    "recreational_drugs": [r"recreational", r"(?:street|illegal|recreational) drugs", r"cannabis", r"cocaine"],
    "occupation": [r"(?:your|for a) (?:job|work|living)", r"occupation", r"employ\w*", r"line of work"],
    "home_life": [
        r"live (?:with|alone|on your own)",
        r"home (?:situation|life)",
        r"who(?:'s| is| else is) at home",
        r"living (?:situation|arrangements?)",
        r"anyone (?:else )?at home",
    ],
    "identity": [r"date of birth", r"\bdob\b", r"(?:your|full) name", r"confirm (?:your|who)", r"how old are you"],
    "ideas": [
        r"what (?:do|did) you (?:think|reckon|suppose|believe|feel) (?:it|is|was|might|could|this|that|has|had|caused|"
        r"causes)",
        r"what were you (?:thinking|worried) (?:it|this) (?:was|is|might|could)",
        r"(?:any )?idea (?:of )?what (?:it|this) (?:is|was|might|could)",
        r"your (?:own )?(?:thoughts|ideas?|theory)",
        r"what(?:'s| is) causing",
    ],
    "concerns": [
        r"worr(?:ied|ying|y|ies)",
        r"concern(?:ed|s)?",
        r"afraid",
        r"scared",
        r"frightened",
        r"on your mind",
        r"bother(?:ing|s)? you",
        r"(?:biggest|main) fear",
    ],
    "expectations": [
        r"hoping (?:for|we|to|that)",
        r"expect\w*",
        r"hope to get",
        r"like (?:us )?to do",
        r"want(?:ed)? from",
    ],
    "diet": [r"diet", r"eat(?:ing)?", r"food"],
    "exercise": [r"exercise", r"physical activity"],
    "sleep": [r"sleep\w*", r"insomnia"],
    "appetite": [r"appetite", r"off (?:your|their) food"],
    "weight": [r"weight"],
    "blackouts": [
        r"faint\w*",
        r"pass(?:ed|ing)? out",
        r"black(?:ed|ing)? ?outs?",
        r"collaps\w*",
        r"lost consciousness",
        r"syncope",
    ],
    "fever": [r"fever\w*", r"temperature", r"feverish", r"hot and cold", r"shivers?", r"rigors?"],
    "vomiting": [r"vomit\w*", r"being sick", r"throw(?:n|ing)? up"],
    "nausea": [r"nause\w*", r"feel(?:ing)? sick"],
    "travel": [r"travel\w*", r"abroad", r"been away", r"holiday"],
    "sexual_history": [r"sexual\w*", r"sexual partners?", r"condoms?"],
    "mood": [r"mood", r"depress\w*", r"low in (?:yourself|mood)", r"feeling down"],
}


GENERIC_WORDS = frozenset(
    [
        "start",
        "start",
        "begin",
        "begun",
        "happe",
        "week",
        "weeks",
        "month",
        "month",
        "years",
        "year",
        "days",
        "today",
        "night",
        "morni",
        "eveni",
        "worse",
        "bette",
        "often",
        "long",
        "first",
        "last",
        "alway",
        "never",
        "usual",
        "norma",
        "somet",
        "while",
        "befor",
        "after",
        "again",
        "other",
        "every",
        "thing",
        "littl",
        "start",
        "feels",
        "doing",
        "going",
        "comin",
        "years",
        "since",
        "ago",
        "tell",
        "told",
        "know",
        "think",
        "feel",
        "felt",
        "right",
        "left",
        "years",
        "much",
        "lot",
        "pain",
        "worry",
        "worri",
        "conce",
        "scare",
        "afrai",
        "fear",
        "hope",
        "hopin",
        "want",
        "wante",
        "like",
        "doesn",
        "happy",
        "sorry",
        "sure",
    ]
)
"""Stems too common in patients' talk to point at one statement."""
_ANAPHORA = re.compile(
    r"\b(?:it|this|that|these|those|them|they|he|she|him|her|like that|such)\b|\b(?:any|one|ones)\W*$|"
    # a choice between what was just offered: "Some like every detail, some the main points. What would suit you?"
    r"\b(?:would|do) you (?:prefer|rather)\b|\b(?:suits?|suit you|either|which one)\W*(?:best|better)?\W*$",
    re.I,
)


def leans_on_context(clause: str) -> bool:
    """'Can you tell me more about that?', 'is there anything like that?': the clause needs what came before."""
    return bool(_ANAPHORA.search(clause))


# What a question asks for, whatever it asks about: "show me where the tightness is" asks for a place, not for
# a time, though the embedding of its topic word ('tightness') is closest to "when did the tightness start?".
FRAMES: dict[str, re.Pattern[str]] = {
    "place": re.compile(r"\b(?:where(?:abouts)?|which (?:part|side|bit))\b", re.I),
    "time": re.compile(
        r"\b(?:when (?:did|was|were|have|had)|since when|how long ago|how long (?:have|has|had)|what (?:time|day))\b",
        re.I,
    ),
    "duration": re.compile(
        r"\bhow long (?:does|do|did|will|would) (?:it|they|each|an?|the|these|those)\b|\bhow many (?:minutes|hours)\b",
        re.I,
    ),
    "frequency": re.compile(r"\bhow (?:often|frequent\w*|many times)\b", re.I),
}


def frames(text: str) -> set[str]:
    """The kinds of answer a question asks for (`FRAMES`)."""
    return {name for name, pattern in FRAMES.items() if pattern.search(text)}


# A topic's keywords do not count in a clause that also matches these (e.g. "allergies to medicines").
TOPIC_EXCLUDE: dict[str, re.Pattern[str]] = {
    "medications": re.compile(r"allerg", re.I),
    "travel": re.compile(
        r"\b(?:does|did|do) (?:it|the \w+|they)\W+(?:(?:um|uh|erm|er|like|ever)\W+)*(?:travel|move)\b|\btravel\w* "
        r"(?:\w+ ){0,3}(?:to|into|down|up|round|through) (?:your|the|my) (?:back|arms?|legs?|neck|jaw|shoulders?|chest|"
        r"groin|side|tummy|stomach)\b",
        re.I,
    ),
    "alcohol": re.compile(r"\b(?:water|juice|tea|coffee|milk|fluids?|enough)\b", re.I),
    "family_history": re.compile(
        r"\b(?:think|thinks|feel|feels|say|says|said|view|views|opinion|want|wants|involved|ideas?|believes?|"
        r"beliefs?|know|knows|told)\b",
        re.I,
    ),
}


@dataclass
class Match:
    statement: Statement
    score: float
    """Best similarity of the clause to the statement's own examples (also kept for keyword hits)."""
    by: str
    """'semantic', 'keyword' or 'topic' (asked about through a sibling of the same topic)."""


@dataclass
class ClauseMatch:
    clause: str
    matches: list[Match] = field(default_factory=list)
    best_score: float = 0.0
    best_id: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    """Statement id -> similarity, for statements within reach (GRAY or more)."""


def _compile(words: Sequence[str]) -> re.Pattern[str] | None:
    """The built-in topic keywords as one pattern; whole words, also when a keyword ends in punctuation."""
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.I)


def _faculty(words: Sequence[str]) -> FacultyPattern | None:
    """A persona's own keywords: faculty-written patterns, checked and searched with a time limit. A pattern
    that fails the check (the persona validator reports it) is left out rather than crash a consultation."""
    usable = [w for w in words if check(w) is None]
    return compile_alternatives(usable) if usable else None


_NOT_AN_ITEM = re.compile(
    r"^(?:and|so|um+|uh+|er+|erm|like|well|right|okay|ok|do|does|did|is|are|was|have|has|can|could|would|any|"
    r"how|what|when|where|why|who|which)\b",
    re.I,
)


def _is_list(clause: str) -> bool:
    """'Heart racing, dizzy spells, sweating?': three or more short items, none a filler or a question opener."""
    items = [p.strip(" ?.!") for p in clause.split(",")]
    return len(items) >= 3 and all(0 < len(p.split()) <= 3 and not _NOT_AN_ITEM.match(p) for p in items)


class Matcher:
    """Precomputes the persona's example embeddings; `match(clauses)` finds the statements asked about."""

    ASK = 0.58
    """A clause this close to a statement's example asks about its topic."""
    SPECIFIC = 0.70
    """A `specific` statement needs a match this close to one of its own examples."""
    GRAY = 0.45
    """Below ASK but above this: the question is probably about the persona but unclear."""
    MARGIN = 0.08
    """Topics within this margin of the clause's best match are asked about too."""
    CLEAR = 0.08
    """A best match above GRAY that beats every other topic by this much is taken as asked."""
    LEXICAL = 0.10
    """Weight of the words a clause shares with a statement's vocabulary (rarer words weigh more)."""
    CONTINUITY = 0.03
    """Bonus for the topics of what the patient has just told: a question usually goes on with them."""
    FRAME = 0.10
    """Penalty when a question asks for a kind of answer (a place, a time, how often) that none of a statement's
    example questions asks for, while some of them ask for another kind."""

    def __init__(self, persona: Persona, embedder: Embedder):
        self.embedder = embedder
        self.statements = persona.statements()
        self.by_topic: dict[str, list[Statement]] = {}
        for s in self.statements:
            self.by_topic.setdefault(s.topic, []).append(s)
        texts: list[str] = []
        owners: list[int] = []
        weights: list[float] = []
        for i, s in enumerate(self.statements):
            for q in s.asked_by:
                texts.append(q)
                owners.append(i)
                weights.append(1.0)
            texts.append(s.says)
            owners.append(i)
            weights.append(0.85)
        self._owners = np.array(owners)
        self._weights = np.array(weights, dtype=np.float32)
        self.context = persona.presenting_complaint
        self._index = {s.id: j for j, s in enumerate(self.statements)}
        self._vocab = [
            content_words(" ".join([s.says, *s.asked_by, *s.keywords, s.topic.replace("_", " ")]))
            for s in self.statements
        ]
        # Words that only one statement says (a drug, a remedy, a person's job): naming one asks about it.
        said = [content_words(s.says) - GENERIC_WORDS for s in self.statements]
        counts: dict[str, int] = {}
        for words in said:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        clinical = content_words(" ".join(re.sub(r"[^a-z ]", " ", p) for ps in TOPIC_KEYWORDS.values() for p in ps))
        self._distinct = [
            {w for w in words if counts[w] == 1 and len(w) >= 4 and not w.isdigit() and w not in clinical}
            for words in said
        ]
        df: dict[str, int] = {}
        for vocab in self._vocab:
            for w in vocab:
                df[w] = df.get(w, 0) + 1
        self._idf = {w: math.log(1 + len(self.statements) / n) for w, n in df.items()}
        self._examples = embedder.encode_many(texts)
        self._frames = [set().union(*(frames(q) for q in s.asked_by)) if s.asked_by else set() for s in self.statements]
        # Names the patient uses ('Tobi', 'Ravi') pull a question's embedding away from its topic ('who's around
        # to help you with Tobi?' is about support, not about Tobi's health): the question is also read without
        # them.
        names = proper_names([s.says for s in self.statements])
        self._names = re.compile(r"\b(?:" + "|".join(sorted(names)) + r")\b") if names else None
        embedder.encode([persona.presenting_complaint])  # load the model now, not on the first question
        # A `specific` statement answers only to its own keywords, never to its topic's general words.
        self._own_res = [_faculty(list(s.keywords)) for s in self.statements]
        self._topic_res = [
            None if s.tier == Tier.specific else _compile(TOPIC_KEYWORDS.get(s.topic, [])) for s in self.statements
        ]

    def _off_frame(self, clause: str) -> np.ndarray:
        """Per statement, whether the clause asks for a kind of answer (`FRAMES`) that none of the statement's
        example questions asks for, while some ask for another kind."""
        asked = frames(clause)
        return np.array([bool(asked and f and not f & asked) for f in self._frames], dtype=np.float32)

    def vocabulary(self, statement_id: str) -> set[str]:
        """Content words of a statement's words, examples, keywords and topic."""
        return self._vocab[self._index[statement_id]]

    def _keyword_hit(self, j: int, clause: str) -> bool:
        own, topic = self._own_res[j], self._topic_res[j]
        if own is not None and own.search(clause):
            return True
        if topic is None or not topic.search(clause):
            return False
        exclude = TOPIC_EXCLUDE.get(self.statements[j].topic)
        return exclude is None or not exclude.search(clause)

    def lexical(self, clause: str) -> np.ndarray:
        """Per statement, the share of the clause's content (weighted by rarity among the persona's
        statements) that the statement's vocabulary covers: 0 (no word in common) to 1."""
        words = content_words(clause)
        total = sum(self._idf.get(w, 0.0) for w in words)
        if not total:
            return np.zeros(len(self.statements), dtype=np.float32)
        return np.array(
            [sum(self._idf.get(w, 0.0) for w in words & vocab) / total for vocab in self._vocab], dtype=np.float32
        )

    def plain(self, clause: str) -> str:
        """The clause in plain words, without the names no example question uses ('help you with Tobi')."""
        text = plain(clause)
        if self._names is not None:
            text = re.sub(r"\s+", " ", self._names.sub("them", text))
        return text

    def scores(self, clauses: Sequence[str]) -> np.ndarray:
        """(len(clauses), len(statements)) best weighted similarity per statement, plus the shared words; each
        clause is read as said and in plain words (`plain`), the closer reading counting."""
        if not clauses:
            return np.zeros((0, len(self.statements)), dtype=np.float32)
        readings = [list(dict.fromkeys([c, self.plain(c)])) for c in clauses]
        flat = [r for rs in readings for r in rs]
        sims = self.embedder.encode(flat) @ self._examples.T * self._weights
        per_reading = np.full((len(flat), len(self.statements)), -1.0, dtype=np.float32)
        for j in range(len(self.statements)):
            cols = self._owners == j
            per_reading[:, j] = sims[:, cols].max(axis=1)
        if self.LEXICAL:
            per_reading += self.LEXICAL * np.stack([self.lexical(r) for r in flat])
        for k, reading in enumerate(flat):
            per_reading[k] -= self.FRAME * self._off_frame(reading)
        out = np.empty((len(clauses), len(self.statements)), dtype=np.float32)
        k = 0
        for i, rs in enumerate(readings):
            out[i] = per_reading[k : k + len(rs)].max(axis=0)
            k += len(rs)
        return out

    def _contextual_scores(
        self, clauses: Sequence[str], before: str | None = None, recent: Sequence[str] = ()
    ) -> np.ndarray:
        """Scores of each clause; a clause that leans on context ("is there anything like that?") is also
        read together with the clause before it, or, if it is the first, with the learner's previous turn
        (`before`) or the presenting complaint. What the patient has just told (`recent`) gains nothing from
        that reading: "is it more on one side?" after the cramps asks something new about them."""
        table = self.scores(clauses)
        leaning = [i for i, c in enumerate(clauses) if _ANAPHORA.search(c)]
        if leaning:
            first = clauses[0]
            # Only a clause with next to no words of its own ("do you ever miss any?") leans on the learner's
            # previous turn; otherwise the presenting complaint is the context, as the previous turn's topic
            # would drown a new question.
            context = before if before and len(content_words(first)) <= 1 else self.context
            joined = [f"{clauses[i - 1]} {clauses[i]}" if i else f"{context} {clauses[i]}" for i in leaning]
            joined_scores = self.scores(joined) * 0.95
            just_told = [self._index[i] for i in recent if i in self._index]
            joined_scores[:, just_told] = -1.0
            table[leaning] = np.maximum(table[leaning], joined_scores)
        return table

    def match(self, clauses: Sequence[str], before: str | None = None, recent: Sequence[str] = ()) -> list[ClauseMatch]:
        """`recent`: ids of the statements the patient has just told (their topics get CONTINUITY)."""
        table = self._contextual_scores(clauses, before, recent)
        topics = {self.statements[self._index[i]].topic for i in recent if i in self._index}
        if topics and self.CONTINUITY and len(table):
            table[:, [j for j, s in enumerate(self.statements) if s.topic in topics]] += self.CONTINUITY
        order = {s.id: k for k, s in enumerate(self.statements)}
        results: list[ClauseMatch] = []
        for ci, clause in enumerate(clauses):
            row = table[ci]
            cm = ClauseMatch(clause)
            if not len(row):
                results.append(cm)
                continue
            best = int(row.argmax())
            cm.best_score = float(row[best])
            cm.scores = {s.id: float(row[j]) for j, s in enumerate(self.statements) if row[j] >= self.GRAY}
            cm.best_id = self.statements[best].id
            others = [row[j] for j, s in enumerate(self.statements) if s.topic != self.statements[best].topic]
            runner_up = float(max(others)) if others else 0.0
            # The best match stands out clearly from every other topic, though below ASK, and shares a
            # content word with it (so that "any headaches?" is not taken for "any fever?").
            clear_winner = (
                cm.best_score >= self.GRAY
                and cm.best_score - runner_up >= self.CLEAR
                and bool(content_words(clause) & self._vocab[best])
                and not self._off_frame(clause)[best]
            )
            kw_hits = [self._keyword_hit(j, clause) for j in range(len(self.statements))]
            words = content_words(clause)
            for j in range(len(self.statements)):
                specific = self.statements[j].tier == Tier.specific
                if not kw_hits[j] and not specific and words & self._distinct[j] and row[j] >= self.GRAY - 0.1:
                    kw_hits[j] = True
            kw_topics = {s.topic for s, hit in zip(self.statements, kw_hits, strict=True) if hit}
            chosen: dict[str, Match] = {}
            # "Heart racing, dizzy spells, sweating?": a list asks about each item, named by a keyword or not
            listed = _is_list(clause)
            # 1. direct hits: keywords, and semantic matches close to the best one. When a keyword names a
            #    topic, a semantic match to another topic must be strong or a clear winner ("what's going on").
            for j, s in enumerate(self.statements):
                floor = self.SPECIFIC if s.tier == Tier.specific else self.ASK
                hit_sem = bool(row[j] >= floor and row[j] >= cm.best_score - self.MARGIN)
                if j == best and clear_winner and s.tier != Tier.specific:
                    hit_sem = True
                elif kw_topics and s.topic not in kw_topics and row[j] < self.SPECIFIC and not listed:
                    hit_sem = False
                if kw_hits[j]:
                    chosen[s.id] = Match(s, float(row[j]), "keyword")
                elif hit_sem:
                    chosen[s.id] = Match(s, float(row[j]), "semantic")
            # 2. topic expansion: siblings of a directly asked statement (never `specific` ones)
            for m in list(chosen.values()):
                for sib in self.by_topic[m.statement.topic]:
                    if sib.id not in chosen and sib.tier != Tier.specific:
                        chosen[sib.id] = Match(sib, m.score, "topic")
            cm.matches = sorted(chosen.values(), key=lambda m: order[m.statement.id])
            results.append(cm)
        return results
