"""Reports of graded transcripts: a self-contained HTML page for assessors, a CSV for several transcripts,
and a plain-text summary for the terminal."""

from __future__ import annotations

import csv
import html
import io
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from vpatient.files import write_private
from vpatient.grading.grader import Grade
from vpatient.grading.review import CHECK_AUDIO, UNCERTAIN_BELOW, confidence, uncertain_items, uncertain_turns
from vpatient.grading.schema import Kind, Rubric
from vpatient.terminal import spreadsheet_cell
from vpatient.transcript import Transcript

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
main{max-width:1180px;margin:auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px} .muted{color:#5b6472}
.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:24px}
@media(max-width:900px){.cols{grid-template-columns:1fr}}
table{border-collapse:collapse;width:100%;background:#fff} th,td{border:1px solid #dde1e7;padding:6px 8px;
text-align:left;vertical-align:top} th{background:#eef1f5}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600}
.met{background:#d9f2e1;color:#145c2e} .missed{background:#f3e3e3;color:#7a1f1f}
.fault{background:#fde7c7;color:#7a4a00}
.avoided{background:#e4ecf7;color:#24466f}
.turn{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:8px 10px;margin:6px 0}
.turn.learner{border-left:4px solid #4a78c2} .turn.patient{border-left:4px solid #9aa3ae}
.turn.evidence{background:#fff8d6;border-color:#e3c24a} .turn .who{font-size:12px;color:#5b6472}
.turn .items a{font-size:12px;margin-right:6px} mark{background:#ffe675}
.item{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:8px 10px;margin:6px 0}
.item:target,.turn:target{outline:3px solid #4a78c2}
.warn{background:#fff1f0;border:1px solid #e7a6a1;padding:8px 10px;border-radius:8px}
.turn.uncertain{border-style:dashed;border-color:#c0392b} .asr{background:#fbe3e0;color:#8a1f12}
.asrnote{color:#8a1f12;font-size:13px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:.0%}" if pct else f"{x:g}"


def _highlight(text: str, quotes: list[str]) -> str:
    """Escape `text`, marking the first occurrence of each quote that appears in it verbatim."""
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        q = quote.rstrip("…").strip()
        pos = text.find(q) if q else -1
        if pos >= 0:
            spans.append((pos, pos + len(q)))
    spans.sort()
    out, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        out += [_e(text[last:start]), "<mark>", _e(text[start:end]), "</mark>"]
        last = end
    out.append(_e(text[last:]))
    return "".join(out)


def html_report(
    grade: Grade, transcript: Transcript, rubric: Rubric | None = None, *, threshold: float = UNCERTAIN_BELOW
) -> str:
    """The assessor's report: scores per section, items with rationale, evidence and feedback, the transcript
    with evidence turns highlighted and linked both ways, and communication metrics. Speech-recognised
    learner turns below `threshold` are flagged (the turns, a note at the top, and on every missed
    behaviour the uncertain turns: the ones that came close to it when known, else all of them) so that a
    recognition error is not mistaken for a missed question."""
    uncertain = uncertain_turns(transcript, threshold)
    flagged = uncertain_items(grade, uncertain)
    uncertain_at = {u.turn for u in uncertain}
    by_turn: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for it in grade.items:
        for ev in it.evidence:
            by_turn[ev.turn].append((it.id, ev.quote))
    m = grade.metrics
    status = "PASS" if grade.passed else "NOT YET PASSED"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(grade.rubric_title or grade.rubric)} - {_e(grade.transcript)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(grade.rubric_title or grade.rubric)}</h1>",
        f"<div class='muted'>Transcript <b>{_e(grade.transcript)}</b> &middot; rubric {_e(grade.rubric)}"
        + (f" &middot; persona {_e(transcript.persona)}" if transcript.persona else "")
        + "</div>",
        f"<p><b>Score {_fmt(grade.score)} / {_fmt(grade.max_score)}</b> &middot; weighted {grade.percent:g}% "
        f"(pass mark {grade.pass_mark:g}%) &middot; <b>{status}</b></p>",
    ]
    if grade.warnings:
        parts.append("<div class='warn'>" + "<br>".join(_e(w) for w in grade.warnings) + "</div>")
    if uncertain:
        links = ", ".join(f"<a href='#turn-{u.turn}'>turn {u.turn}</a> ({u.confidence:.0%})" for u in uncertain)
        parts.append(
            f"<div class='warn' id='recognition'><b>Speech recognition uncertain</b> (confidence below "
            f"{threshold:.0%}) in learner {links}: what the learner said may differ from the transcript; check "
            "the audio before marking an item missed.</div>"
        )
    parts.append("<h2>Sections</h2><table><tr><th>Section</th><th>Score</th><th>Weight</th><th>Percent</th></tr>")
    for s in grade.sections:
        pct = "n/a" if s.percent is None else f"{s.percent:g}%"
        parts.append(
            f"<tr><td>{_e(s.title)}</td><td>{_fmt(s.score)} / {_fmt(s.max)}"
            + (
                f" <span class='muted'>({_fmt(s.earned)} earned, {_fmt(s.deducted)} deducted for faults)</span>"
                if s.deducted
                else ""
            )
            + "</td>"
            f"<td>{s.weight:g}</td><td>{pct}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<h2>Communication</h2><table>")
    rows = [
        (
            "Questions",
            f"{m.questions} ({m.open_questions} open, {m.closed_questions} closed"
            + (f"; {m.open_question_ratio:.0%} open" if m.open_question_ratio is not None else "")
            + ")",
        ),
        ("Empathic statements", str(m.empathic_statements)),
        (
            "Talk-time ratio (learner share)",
            _fmt(m.talk_time_ratio, pct=True) if m.timed else "no timings in transcript",
        ),
        ("Word share (learner)", _fmt(m.word_ratio, pct=True)),
        (
            "Interruptions (learner / patient)",
            f"{m.interruptions_by_learner} / {m.interruptions_by_patient} ({m.overlaps} overlapping turns)"
            if m.timed
            else "no timings in transcript",
        ),
        (
            "Jargon",
            ", ".join(f"{j.term} (turn {j.turn}{'' if j.explained else ', unexplained'})" for j in m.jargon)
            or "none found",
        ),
        ("Turns", f"{m.learner_turns} learner, {m.patient_turns} patient"),
    ]
    parts += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows]
    parts.append("</table>")
    parts.append("<div class='cols'><section><h2>Items</h2>")
    for s in grade.sections:
        parts.append(f"<h3>{_e(s.title)}</h3>")
        for it in [i for i in grade.items if i.section == s.id]:
            fault = it.kind == "fault"
            if fault:
                badge = ("fault", "FAULT") if it.met else ("avoided", "avoided")
            else:
                badge = ("met", "met") if it.met else ("missed", "not met")
            links = " ".join(
                f"<a href='#turn-{ev.turn}'>turn {ev.turn}</a>: &ldquo;{_e(ev.quote)}&rdquo;<br>" for ev in it.evidence
            )
            parts.append(
                f"<div class='item' id='item-{_e(it.id)}'><span class='badge {badge[0]}'>{badge[1]}</span> "
                f"<b>{_e(it.title or it.id)}</b> <span class='muted'>({_fmt(it.score)} / {_fmt(it.max)}, "
                f"{_e(it.id)})</span>"
                f"<div>{_e(it.rationale)}</div>"
                + (f"<div class='muted'>{links}</div>" if links else "")
                + (f"<div><i>Feedback:</i> {_e(it.feedback)}</div>" if it.feedback else "")
                + (
                    "<div class='asrnote'>&#9888; "
                    + ", ".join(
                        f"<a href='#turn-{u.turn}'>turn {u.turn}</a> ({u.confidence:.0%})"
                        for u in flagged.get(it.id, uncertain)
                    )
                    + f": {_e(CHECK_AUDIO)}</div>"
                    if uncertain and not it.met and not fault
                    else ""
                )
                + "</div>"
            )
    parts.append("</section><section><h2>Transcript</h2>")
    if not transcript.turns:
        parts.append("<p class='muted'>(empty transcript)</p>")
    for i, turn in enumerate(transcript.turns):
        refs = by_turn.get(i, [])
        cls = f"turn {turn.role}" + (" evidence" if refs else "") + (" uncertain" if i in uncertain_at else "")
        conf = confidence(turn.meta) if turn.role == "learner" else None
        if conf is not None:
            label = "recognition uncertain" if i in uncertain_at else "recognised"
            css = "badge asr" if i in uncertain_at else "muted"
            audio = turn.meta.get("audio")
            listen = f" <a href='{_e(audio)}'>audio</a>" if isinstance(audio, str) and audio else ""
            conf_html = f" <span class='{css}'>{label} {conf:.0%}</span>{listen}"
        else:
            conf_html = ""
        when = f" &middot; {turn.start:.1f}-{turn.end:.1f}s" if turn.start is not None and turn.end is not None else ""
        items = "".join(f"<a href='#item-{_e(item)}'>{_e(item)}</a>" for item in dict.fromkeys(r[0] for r in refs))
        parts.append(
            f"<div class='{cls}' id='turn-{i}'><div class='who'>[{i}] {_e(turn.role)}{when}{conf_html}</div>"
            f"<div>{_highlight(turn.text, [q for _, q in refs])}</div>"
            + (f"<div class='items'>{items}</div>" if items else "")
            + "</div>"
        )
    parts.append("</section></div></main></body></html>")
    return "\n".join(parts)


def csv_report(grades: Sequence[Grade], rubric: Rubric) -> str:
    """One row per transcript: the score, each section's score (they add up to it), one column per item
    (1 = met; for fault items 1 = the fault happened), and a column `one_means` saying so, naming the faults."""
    ids = [i.id for i in rubric.items()]
    faults = [i.id for i in rubric.items() if i.kind == Kind.fault]
    one_means = "1 = done" + (f"; for the fault items {', '.join(faults)}: 1 = the fault happened" if faults else "")
    sections = [s.id for s in rubric.sections]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "transcript",
            "rubric",
            "score",
            "max_score",
            "percent",
            "passed",
            *(f"section:{s}" for s in sections),
            *ids,
            "one_means",
            "warnings",
        ]
    )
    for g in grades:
        met = {i.id: int(i.met) for i in g.items}
        by_section = {s.id: s.score for s in g.sections}
        row = [
            g.transcript,
            g.rubric,
            g.score,
            g.max_score,
            g.percent,
            int(g.passed),
            *(by_section.get(s, "") for s in sections),
            *(met.get(i, "") for i in ids),
            one_means,
            "; ".join(g.warnings),
        ]
        w.writerow([spreadsheet_cell(cell) for cell in row])  # ids come from transcript files: no formulas
    return buf.getvalue()


def text_summary(grade: Grade) -> str:
    lines = [
        f"{grade.transcript}: {grade.rubric} {grade.score:g}/{grade.max_score:g} ({grade.percent:g}%, "
        f"{'pass' if grade.passed else 'not passed'}; pass mark {grade.pass_mark:g}%)",
    ]
    lines += [f"  warning: {w}" for w in grade.warnings]
    for it in grade.items:
        mark = ("FAULT" if it.met else "ok") if it.kind == "fault" else ("x" if it.met else " ")
        lines.append(f"  [{mark:>5}] {it.id}: {it.rationale}")
    return "\n".join(lines)


def write_text(path: str | Path, text: str) -> None:
    """Write a report atomically, readable by the owner only (it quotes the consultation)."""
    write_private(path, text, what="report file")
