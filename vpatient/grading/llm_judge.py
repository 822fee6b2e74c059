"""The optional LLM judge: an item judged by a configured LLM (the inference core: a local GGUF through
llama.cpp, a transformers folder, or an OpenAI-compatible endpoint such as vLLM), combined with the rules
by a stated policy. Never required: the grader's default stays offline and deterministic.

The judge reads the item's definition, its examples and counter-examples and the numbered consultation,
and answers with JSON: met or not, the turn that shows it and a quote from that turn. A "met" answer
counts only when its evidence checks out: the turn exists, is spoken by the item's speaker, and holds the
quote (when one is given). Anything else (no JSON, a turn out of range, a quote not in the turn, a
timeout, a backend error) is *no verdict*, and the rules stand.

Combination policies (POLICIES):
- `either` (default): met when the rules or a cited judge verdict find it. The judge can add an item the
  rules missed (with its evidence) but never removes one the rules found evidence for.
- `both`: met only when the rules and the judge agree that it is; a judge "not met" overrules the rules.
- `judge`: the judge's verdict where it gave a usable one, else the rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vpatient.errors import VPatientError
from vpatient.grading.detectors import Hit
from vpatient.grading.judge import Verdict
from vpatient.grading.schema import Item, Kind, Speaker
from vpatient.transcript import Transcript

POLICIES = ("either", "both", "judge")

MAX_TURN_CHARS = 400
"""Each turn is cut to this length in the prompt (small models have small contexts)."""

SYSTEM = (
    "You are a clinical communication assessor marking one item of a rubric in a recorded consultation "
    "between a learner (a medical student) and a patient. Mark only what was said. Answer with one JSON "
    'object and nothing else: {"met": true or false, "turn": the number of the turn that shows it (null '
    'when not met), "quote": the exact words from that turn, "reason": one short sentence}.'
)


@dataclass(frozen=True)
class JudgeVerdict:
    """The judge's answer on one item. `met` is None when there is no usable verdict (`problem` says why)."""

    item: str
    met: bool | None
    turn: int | None = None
    quote: str = ""
    reason: str = ""
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w']+", " ", text.lower()).split())


def prompt(item: Item, transcript: Transcript) -> str:
    ev = item.evidence
    meaning = "the mistake happened" if item.kind == Kind.fault else "the learner did it"
    who = {"learner": "learner", "patient": "patient", "any": "learner or patient"}[ev.speaker.value]
    lines = [
        f"Item: {item.label} ({item.kind.value}; met means {meaning}).",
        f"Definition: {' '.join(item.description.split())}",
    ]
    if ev.examples:
        lines.append("Counts, for example: " + " | ".join(ev.examples[:5]))
    if ev.counter_examples:
        lines.append("Does NOT count, for example: " + " | ".join(ev.counter_examples[:5]))
    lines.append(f"Only {who} turns can show it.")
    lines += ["", "Consultation:"]
    for i, turn in enumerate(transcript.turns):
        text = " ".join(turn.text.split())
        if len(text) > MAX_TURN_CHARS:
            text = text[: MAX_TURN_CHARS - 1] + "…"
        lines.append(f"[{i}] {turn.role.capitalize()}: {text}")
    lines += ["", f"Is the item '{item.label}' met? Answer with the JSON object only."]
    return "\n".join(lines)


def _json_object(reply: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", reply):
        try:
            value, _end = decoder.raw_decode(reply[match.start() :])
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def parse(reply: str, item: Item, transcript: Transcript) -> JudgeVerdict:
    """The verdict in a reply, with its cited evidence checked against the transcript."""
    data = _json_object(reply)
    if data is None or not isinstance(data.get("met"), bool):
        return JudgeVerdict(item.id, None, problem=f"no JSON verdict in the reply: {reply[:80]!r}")
    reason = str(data.get("reason") or "")[:300]
    if not data["met"]:
        return JudgeVerdict(item.id, False, reason=reason)
    turn = data.get("turn")
    if isinstance(turn, str) and turn.strip().isdigit():
        turn = int(turn)
    if isinstance(turn, bool) or not isinstance(turn, int) or not 0 <= turn < len(transcript.turns):
        return JudgeVerdict(
            item.id, None, reason=reason, problem=f"met, but cites no turn of the consultation ({turn!r})"
        )
    role = transcript.turns[turn].role
    if item.evidence.speaker != Speaker.any and role != item.evidence.speaker.value:
        return JudgeVerdict(item.id, None, turn, reason=reason, problem=f"cites turn {turn}, a {role} turn")
    quote = str(data.get("quote") or "").strip()
    if quote and _norm(quote) not in _norm(transcript.turns[turn].text):
        return JudgeVerdict(item.id, None, turn, quote, reason, problem=f"the quote is not in turn {turn}")
    return JudgeVerdict(item.id, True, turn, quote or transcript.turns[turn].text, reason)


def combine(rules_met: bool, verdict: JudgeVerdict | None, policy: str = "either") -> bool:
    """The item's result under `policy` (see the module docstring); no verdict: the rules stand."""
    if policy not in POLICIES:
        raise ValueError(f"unknown judge policy {policy!r}; use one of {', '.join(POLICIES)}")
    if verdict is None or verdict.met is None:
        return rules_met
    if policy == "either":
        return rules_met or verdict.met
    if policy == "both":
        return rules_met and verdict.met
    return verdict.met


class LLMJudge:
    """Judges items through an inference core. `ask(system, user) -> reply text` can replace the core
    (tests); a failed or timed-out request is no verdict, never an exception."""

    def __init__(
        self,
        core: Any = None,
        *,
        name: str = "llm",
        timeout_s: float = 60.0,
        max_tokens: int = 160,
        ask: Callable[[str, str], str] | None = None,
    ):
        self.core = core
        self.name = name
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self._ask = ask

    def ask(self, system: str, user: str) -> str:
        if self._ask is not None:
            return self._ask(system, user)
        from vpatient.inference import ChatMessage, GenerationRequest
        from vpatient.inference.shared import core_host

        request = GenerationRequest(
            "grader-judge",
            (ChatMessage("system", system), ChatMessage("user", user)),
            max_tokens=self.max_tokens,
            temperature=0.0,
            seed=0,
            timeout_s=self.timeout_s,
        )
        result = core_host().run(self.core.generate(request), self.timeout_s + 5)
        return str(result.text)

    def judge_item(self, item: Item, transcript: Transcript) -> JudgeVerdict:
        try:
            reply = self.ask(SYSTEM, prompt(item, transcript))
        except (VPatientError, TimeoutError, OSError) as exc:
            return JudgeVerdict(item.id, None, problem=f"the judge failed: {exc}")
        return parse(reply, item, transcript)

    def settle(self, item: Item, transcript: Transcript, candidates: list[Hit]) -> Verdict | None:
        """The grader's borderline hook (vpatient.grading.judge.Judge): a cited "met", else no opinion."""
        verdict = self.judge_item(item, transcript)
        if verdict.met and verdict.turn is not None:
            return Verdict(True, verdict.turn, f"judged by {self.name}: {verdict.reason or 'met'}")
        return None


def make_judge(
    backend: str, *, model: str | None = None, endpoint: str | None = None, timeout_s: float = 60.0
) -> LLMJudge:
    """A judge on the process's shared inference core for this backend (llamacpp: packaged SmolLM2-135M
    by default, 'qwen' after `vpatient models install qwen`, or a .gguf file)."""
    from vpatient.inference.shared import shared_core

    if backend == "llamacpp":
        from vpatient.model_install import resolve_llm_model

        model = resolve_llm_model(model)
    core = shared_core(backend, model=model, endpoint=endpoint)
    return LLMJudge(core, name=f"{backend}:{model or endpoint or 'default'}", timeout_s=timeout_s)


METHODS = ("rules", "judge", "combined")


def judge_agreement(
    rubric: Any,
    transcripts: dict[str, Transcript],
    labels: dict[str, dict[str, int]],
    grader: Any,
    judge: LLMJudge,
    policy: str = "either",
) -> dict[str, Any]:
    """Agreement with the human labels of the rules, the judge alone (no verdict counts as not met) and
    the combination under `policy`, per item: kappa, AC1, accuracy, and how often the judge gave no
    usable verdict."""
    from vpatient.grading.agreement import cohen_kappa, gwet_ac1

    if policy not in POLICIES:
        raise ValueError(f"unknown judge policy {policy!r}; use one of {', '.join(POLICIES)}")
    items = {i.id: i for i in rubric.items()}
    human: dict[str, list[int]] = {i: [] for i in items}
    said: dict[str, dict[str, list[int]]] = {m: {i: [] for i in items} for m in METHODS}
    unusable: dict[str, int] = dict.fromkeys(items, 0)
    problems: list[str] = []
    for tid, marks in labels.items():
        if tid not in transcripts:
            continue
        grade = grader.grade(transcripts[tid])
        for item_id, label in marks.items():
            if item_id not in items:
                continue
            rules = grade.item(item_id).met
            verdict = judge.judge_item(items[item_id], transcripts[tid])
            if verdict.met is None:
                unusable[item_id] += 1
                problems.append(f"{tid} {item_id}: {verdict.problem}")
            human[item_id].append(int(label))
            said["rules"][item_id].append(int(rules))
            said["judge"][item_id].append(int(bool(verdict.met)))
            said["combined"][item_id].append(int(combine(rules, verdict, policy)))

    def figures(h: list[int], m: list[int]) -> dict[str, Any]:
        kappa = cohen_kappa(h, m) if len(set(h)) > 1 else None
        ac1 = gwet_ac1(h, m)
        acc = sum(1 for a, b in zip(h, m, strict=True) if a == b) / len(h)
        return {
            "kappa": None if kappa is None else round(kappa, 3),
            "ac1": None if ac1 is None else round(ac1, 3),
            "accuracy": round(acc, 3),
        }

    rows = []
    for item_id, h in human.items():
        if not h:
            continue
        row: dict[str, Any] = {"item": item_id, "n": len(h), "judge_no_verdict": unusable[item_id]}
        row.update({m: figures(h, said[m][item_id]) for m in METHODS})
        rows.append(row)
    means: dict[str, Any] = {}
    for m in METHODS:
        ks = [r[m]["kappa"] for r in rows if r[m]["kappa"] is not None]
        means[m] = {
            "kappa": round(sum(ks) / len(ks), 3) if ks else None,
            "accuracy": round(sum(r[m]["accuracy"] for r in rows) / len(rows), 3) if rows else None,
        }
    return {"policy": policy, "judge": judge.name, "items": rows, "mean": means, "problems": problems}


def judge_table(report: dict[str, Any]) -> str:
    """Rules, judge and combined side by side, one row per item."""
    head = f"{'item':34} {'n':>3} | " + " | ".join(f"{m:^19}" for m in METHODS) + " | no verdict"
    sub = f"{'':34} {'':>3} | " + " | ".join(f"{'kappa':>6} {'AC1':>6} {'acc':>5}" for _ in METHODS) + " |"
    lines = [f"judge {report['judge']}, policy {report['policy']}", head, sub]

    def k(x: float | None) -> str:
        return "undef" if x is None else f"{x:.3f}"

    for r in report["items"]:
        cells = " | ".join(f"{k(r[m]['kappa']):>6} {k(r[m]['ac1']):>6} {r[m]['accuracy']:5.3f}" for m in METHODS)
        lines.append(f"{r['item']:34} {r['n']:3d} | {cells} | {r['judge_no_verdict']:3d}")
    mean = " | ".join(
        f"{k(report['mean'][m]['kappa']):>6} {'':>6} {(report['mean'][m]['accuracy'] or 0.0):5.3f}" for m in METHODS
    )
    lines.append(f"{'MEAN':34} {'':3} | {mean} |")
    return "\n".join(lines)


def apply(
    grade: Any, grader: Any, transcript: Transcript, judge: LLMJudge, policy: str = "either"
) -> tuple[Any, dict[str, Any]]:
    """The grade with every item judged and combined with the rules under `policy`, and the judge's record
    (name, policy, each verdict) to keep beside the grade JSON. An item whose result changes cites the
    judge's evidence (or none, when the judge overruled the rules) and names the judge in `judged_by`."""
    from vpatient.grading.grader import EvidenceTurn, ItemGrade

    if policy not in POLICIES:
        raise ValueError(f"unknown judge policy {policy!r}; use one of {', '.join(POLICIES)}")
    rubric_items = {i.id: i for i in grader.rubric.items()}
    items: list[ItemGrade] = []
    verdicts: list[JudgeVerdict] = []
    for it in grade.items:
        item = rubric_items[it.id]
        verdict = judge.judge_item(item, transcript)
        verdicts.append(verdict)
        met = combine(it.met, verdict, policy)
        if met == it.met:
            items.append(it)
            continue
        fault = item.kind == Kind.fault
        why = verdict.reason or ("met" if met else "not met")
        if met:
            assert verdict.turn is not None  # a "met" verdict always cites its turn
            evidence = [EvidenceTurn(verdict.turn, verdict.quote)]
            done = "to have happened" if fault else "done"
            rationale = f"Judged {done} by {judge.name} at turn {verdict.turn}: {why} (the rules found no evidence)."
        else:
            evidence = []
            done = "to have happened" if fault else "done"
            rationale = f"Judged not {done} by {judge.name}: {why} (the rules said: {it.rationale})"
        score = (-item.marks if met else 0.0) if fault else (item.marks if met else 0.0)
        feedback = item.feedback.met if met else item.feedback.missed
        items.append(
            ItemGrade(
                id=it.id,
                kind=it.kind,
                met=met,
                score=float(score),
                max=it.max,
                evidence=evidence,
                rationale=rationale,
                title=it.title,
                section=it.section,
                feedback=feedback,
                judged_by=judge.name,
            )
        )
    # the totals exactly as the grader adds them up (sections, weights, pass mark)
    combined = grader._total(transcript, items, list(grade.warnings), grade.metrics)
    record = {"name": judge.name, "policy": policy, "verdicts": [v.to_json() for v in verdicts]}
    return combined, record
