"""Built-in detectors: evidence that needs the conversation around an utterance, not just the utterance.

Each detector takes the prepared transcript and the item's evidence spec and returns hits (turn, quote,
reason). Detectors that work on clauses honour the evidence's `acts`; turn-level ones (summary,
jargon_unexplained, acknowledges_belief, greeting_and_introduction) do not need them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vpatient.grading import jargon as grading_jargon
from vpatient.grading.analysis import Analysis, Clause
from vpatient.grading.schema import Detector, Evidence, Speaker
from vpatient.language import acts as A
from vpatient.language import culture, diagnoses, jargon, moves, summary, symptoms


@dataclass(frozen=True)
class Hit:
    """One piece of evidence: a turn (and clause within it), the quote, and why it counts."""

    turn: int
    index: int
    quote: str
    reason: str
    similarity: float | None = None

    @property
    def order(self) -> tuple[int, int]:
        return (self.turn, self.index)


def clause_ok(clause: Clause, ev: Evidence) -> bool:
    return all(clause.has(act) for act in ev.acts)


def _quote(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def greeting_and_introduction(an: Analysis, ev: Evidence) -> list[Hit]:
    turns = an.speaker_turns(Speaker.learner)[: ev.first_turns or 4]
    greeting = [t for t in turns if moves.greets(an.texts[t]) or A.is_greeting(an.texts[t])]
    intro = [t for t in turns if moves.introduces_self(an.texts[t])]
    if not greeting or not intro:
        return []
    hits = [Hit(intro[0], 0, _quote(an.texts[intro[0]]), "gives own name or role")]
    if greeting[0] != intro[0]:
        hits.insert(0, Hit(greeting[0], 0, _quote(an.texts[greeting[0]]), "greets the patient"))
    else:
        hits[0] = Hit(intro[0], 0, hits[0].quote, "greets the patient and gives own name or role")
    return hits


def summary_detector(an: Analysis, ev: Evidence) -> list[Hit]:
    hits: list[Hit] = []
    for t in an.speaker_turns(Speaker.learner):
        found = summary.find_summary(an.texts[t], an.said_before(t, "patient"))
        if found:
            facts = "; ".join(f"'{f}'" for f in found.facts[:4])
            hits.append(
                Hit(
                    t,
                    0,
                    _quote(found.quote),
                    f"restates {len(found.facts)} things the patient said ({facts})",
                )
            )
    return hits


_EXAMINING = re.compile(
    r"\b(?:have a look|take a look|examin\w*|listen to your|feel your|press on|check your (?:pulse|blood "
    r"pressure|temperature))\b",
    re.I,
)


def new_symptom_question(an: Analysis, ev: Evidence) -> list[Hit]:
    hits: list[Hit] = []
    for clause in an.clauses_of(Speaker.learner):
        if not moves.is_asking(clause.text) or not clause_ok(clause, ev):
            continue
        asked = symptoms.symptom_concepts(clause.text)
        if not asked or _EXAMINING.search(clause.text):
            continue
        raised = symptoms.symptom_concepts(an.said_before(clause.turn, "patient"))
        raised |= symptoms.symptom_concepts(
            " ".join(
                c.text for c in an.clauses_of(Speaker.learner) if c.turn < clause.turn and not moves.is_asking(c.text)
            )
        )
        new = sorted(asked - raised)
        if new:
            words = [symptoms.first_symptom_mention(clause.text, c) or c for c in new]
            hits.append(
                Hit(
                    clause.turn,
                    clause.index,
                    _quote(clause.text),
                    f"asks about {', '.join(words)}, not raised by the patient",
                )
            )
    return hits


def _extra_terms(ev: Evidence) -> re.Pattern[str] | None:
    if not ev.terms:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(t) for t in ev.terms) + r")\b", re.I)


def _jargon_in_turn(an: Analysis, t: int, ev: Evidence) -> list[str]:
    """Unexplained jargon in learner turn t, by the grader's one term list (vpatient.grading.jargon)."""
    return [u.term for u in grading_jargon.uses_in_turn(an, t, ev.terms, ev.ignore_terms) if not u.explained]


def jargon_unexplained(an: Analysis, ev: Evidence) -> list[Hit]:
    hits: list[Hit] = []
    for t in an.speaker_turns(Speaker.learner):
        terms = _jargon_in_turn(an, t, ev)
        if terms:
            shown = ", ".join(f"'{x}'" for x in terms)
            quote = next((c.text for c in an.by_turn[t] if any(x in c.text.lower() for x in terms)), an.texts[t])
            hits.append(Hit(t, 0, _quote(quote), f"uses {shown} without explaining it"))
    return hits


def plain_diagnosis(an: Analysis, ev: Evidence) -> list[Hit]:
    """A statement naming a diagnosis: the plain disease words of vpatient.language.diagnoses plus `terms`."""
    extra = _extra_terms(ev)
    hits: list[Hit] = []
    for clause in an.clauses_of(Speaker.learner):
        if moves.is_asking(clause.text) or not clause_ok(clause, ev):
            continue
        word = diagnoses.plain_diagnosis(clause.text, extra)
        # naming it in jargon only ('metastatic disease') is not naming it plainly
        if word and extra is None and any(not jargon.explained(clause.text, t) for t in jargon.find_terms(word)):
            word = None
        if word:
            hits.append(Hit(clause.turn, clause.index, _quote(clause.text), f"names the diagnosis: '{word}'"))
    return hits


def delivers_diagnosis(an: Analysis, ev: Evidence) -> list[Hit]:
    """The diagnosis named plainly (plain_diagnosis), unless the patient then had to ask outright whether it is
    that illness ('Is it cancer, doctor?') and the learner's next turn neither said yes or no nor named it:
    a naming that the learner will not confirm did not deliver the diagnosis clearly (the patient deducing it
    does not count). A later plain naming still counts."""
    hits = plain_diagnosis(an, ev)
    for t in range(len(an)):
        asked = diagnoses.asks_whether_diagnosis(an.texts[t]) if an.roles[t] == "patient" else None
        if not asked:
            continue
        reply = next((u for u in range(t + 1, len(an)) if an.roles[u] == "learner" and an.texts[u].strip()), None)
        if reply is None or diagnoses.answers_outright(an.texts[reply], asked):
            continue
        hits = [h for h in hits if h.turn > reply]
    return hits


def plain_explanation(an: Analysis, ev: Evidence) -> list[Hit]:
    hits: list[Hit] = []
    for t in an.speaker_turns(Speaker.learner):
        if _jargon_in_turn(an, t, ev):
            continue
        for clause in an.by_turn[t]:
            if len(clause.text.split()) < 6 or moves.is_asking(clause.text) or not clause_ok(clause, ev):
                continue
            if moves.is_explanation(clause.text):
                hits.append(Hit(t, clause.index, _quote(clause.text), "explains in plain words, no unexplained jargon"))
                break
    return hits


_WEAK_ACK = re.compile(
    r"\b(?:i (?:can )?(?:understand|see|appreciate|hear|get) (?:that|why|how|it|what|where|your)|"
    r"i (?:can |completely |totally )?(?:understand|appreciate) (?:that|this|it|why)|"
    r"that(?: makes (?:complete |perfect )?sense|'?s (?:completely |perfectly |really |very "
    r")?(?:understandable|fair|"
    r"interesting|important|helpful|useful|good to know)|'?s fair enough)|"
    r"i(?:'m| am) glad you (?:told|mentioned|said|raised)|(?:thank you|thanks) for (?:telling|sharing|"
    r"explaining|"
    r"raising|letting)|"
    # accepting what the patient does or believes: 'that's fine to carry on', 'no problem', 'good point'
    r"(?:is|are|that'?s|that is|it'?s|it is) (?:absolutely |completely |perfectly |totally )?(?:fine|ok|okay|no "
    r"problem|not a problem|(?:a )?(?:very |really )?good (?:point|question|idea|thing))|"
    r"no problem (?:at all|with (?:that|it|them))|"
    r"(?:fine|ok|okay|safe|good) to (?:carry on|keep|continue|use|take|have|drink|eat)|"
    r"keep (?:on )?(?:doing|using|taking|drinking|praying|going with) (?:what|that|those|it|them|your)|"
    r"(?:good|great|glad) (?:that|you) (?:you )?(?:told|mention|say|said|brought|asked|raised)|"
    r"(?:it )?helps me (?:to )?(?:know|understand|see)|(?:i|we) (?:can )?(?:hear|see) (?:what you|where you|"
    r"why you|that you)|it sounds like you|(?:is|are|must be) (?:really |very |so )?(?:important|precious|"
    r"meaningful) (?:to|for) you|(?:matters?|means a lot) to you|you(?:'re| are) (?:quite |absolutely )?right|"
    # validating what the patient said or does: 'that makes a lot of sense', 'those sound fine', 'stress can play
    # a part', 'your mother is not completely wrong', 'carry on with them'
    r"(?:that|it|this) makes (?:a lot of |so much |good |total )?sense|"
    r"(?:sounds?|seems?) (?:absolutely |completely |perfectly |totally )?(?:fine|sensible|reasonable|ok|okay)|"
    r"(?:can|may|might|could|does|do) (?:\w+ )?play a (?:part|role)|(?:is|are) (?:all )?playing a (?:part|role)|"
    r"not (?:completely|entirely|totally|all that) wrong|(?:has|have) a (?:good )?point|(?:is|are) onto something|"
    r"carry on (?:with|doing|using|taking) (?:it|them|that|those|this|these)|"
    r"(?:this|that|it)(?:'s| is) (?:clearly |so |really |very )?important(?! (?:to (?:take|stop|know|tell|get|have|"
    r"do|make|check)|that))"
    r")\b",
    re.I,
)


_RESPECTS = re.compile(r"\b(?:respect|honou?r)", re.I)


def acknowledges_belief(an: Analysis, ev: Evidence) -> list[Hit]:
    hits: list[Hit] = []
    for t in an.speaker_turns(Speaker.learner):
        text = an.texts[t]
        if moves.dismisses_belief(text) or A.is_dismissive(text) or culture.is_stereotyping(text):
            continue
        recent = [p for p in range(max(0, t - 4), t) if an.roles[p] == "patient"][-2:]
        belief_context = any(culture.mentions_belief(an.texts[p]) for p in recent)
        strong = moves.is_respectful(text)
        weak = bool(_WEAK_ACK.search(text))
        # "I respect that you have weighed this carefully": respect for a belief the patient raised earlier
        raised = any(culture.mentions_belief(an.texts[p]) for p in range(t) if an.roles[p] == "patient")
        respects = strong and raised and bool(_RESPECTS.search(text))
        if (strong and (belief_context or culture.mentions_belief(text))) or (weak and belief_context) or respects:
            quote = next(
                (c.text for c in an.by_turn[t] if moves.is_respectful(c.text) or _WEAK_ACK.search(c.text)),
                text,
            )
            why = "acknowledges the patient's belief or practice respectfully, without dismissing it"
            hits.append(Hit(t, 0, _quote(quote), why))
    return hits


def safety_net(an: Analysis, ev: Evidence) -> list[Hit]:
    hits: list[Hit] = []
    for t in an.speaker_turns(Speaker.learner):
        sentence = moves.safety_net_sentence(an.texts[t])
        if sentence:
            hits.append(Hit(t, 0, _quote(sentence), "tells the patient when or under what conditions to seek help"))
    return hits


_SELF_CARE = re.compile(
    r"\b(?:(?:done|tried|taken|using|used|taking|given (?:him|her|them)) (?:anything|something)\b.{0,40}"
    r"\b(?:yourself|at home|otherwise|of your own|else)\b|"
    r"anything else (?:that )?(?:helped|helps|help)\b|"
    r"(?:tried|done|use|used|do) (?:\w+ )?at home\b)",
    re.I,
)
_EXTRA_PRACTICE = re.compile(r"\b(?:cures?|charms?|beads?|talisman|amulets?|won'?t (?:accept|have|take))\b", re.I)
_FOLLOW_UP = re.compile(
    r"\b(?:help(?:s|ed)?|work(?:s|ed)?|accept\w*|mean(?:s)?|means to you|think (?:about|of)|feel about|"
    r"talked about|reasons?|why (?:you|she|he|they)|involve\w*|important to you|matter\w* to you|"
    r"tell me (?:a bit )?more)\b",
    re.I,
)


def belief_question(an: Analysis, ev: Evidence) -> list[Hit]:
    """Asking about beliefs and practices: a question about the patient's own remedies or self-care ('done
    anything for it yourself?'), or a question that follows up a belief, remedy or practice the patient has
    just mentioned ('does the praying help?', 'what would you accept?'). A question on another subject
    after such a mention is not a follow-up."""
    hits: list[Hit] = []
    for clause in an.clauses_of(Speaker.learner):
        if not moves.is_asking(clause.text) or not clause_ok(clause, ev):
            continue
        if _SELF_CARE.search(clause.text):
            hits.append(Hit(clause.turn, clause.index, _quote(clause.text), "asks about the patient's own remedies"))
            continue
        previous = [p for p in range(max(0, clause.turn - 2), clause.turn) if an.roles[p] == "patient"][-1:]
        said = " ".join(an.texts[p] for p in previous)
        if not said or not (culture.mentions_belief(said) or _EXTRA_PRACTICE.search(said)):
            continue
        if _FOLLOW_UP.search(clause.text) or culture.mentions_belief(clause.text):
            why = "follows up a belief or practice the patient has just mentioned"
            hits.append(Hit(clause.turn, clause.index, _quote(clause.text), why))
    return hits


DETECTORS: dict[Detector, Callable[[Analysis, Evidence], list[Hit]]] = {
    Detector.greeting_and_introduction: greeting_and_introduction,
    Detector.summary: summary_detector,
    Detector.new_symptom_question: new_symptom_question,
    Detector.jargon_unexplained: jargon_unexplained,
    Detector.plain_diagnosis: plain_diagnosis,
    Detector.delivers_diagnosis: delivers_diagnosis,
    Detector.plain_explanation: plain_explanation,
    Detector.acknowledges_belief: acknowledges_belief,
    Detector.safety_net: safety_net,
    Detector.belief_question: belief_question,
}
