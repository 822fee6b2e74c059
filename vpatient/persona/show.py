"""A readable summary of a persona for faculty (`vpatient persona show`)."""

from __future__ import annotations

from collections import defaultdict

from vpatient.persona.schema import TIER_ORDER, Persona


def summary(p: Persona) -> str:
    ident = p.identity
    lines = [
        f"{p.title}  [{p.id}, {p.scenario}]",
        f"Patient: {ident.name}, {ident.age}, {ident.sex.value}"
        + (f" ({ident.pronouns})" if ident.pronouns else "")
        + (f", {ident.occupation}" if ident.occupation else ""),
        f"Setting: {p.setting}" if p.setting else "",
        "",
        "Learner's brief:",
        *("  " + line for line in p.brief.strip().splitlines()),
        "",
        f'Opening line: "{p.opening_line}"',
        f"Presenting complaint: {p.presenting_complaint}",
        "",
    ]
    by_tier: dict[str, list[str]] = defaultdict(list)
    statements = p.statements()
    for s in statements:
        neg = " (negative)" if getattr(s, "negative", False) else ""
        by_tier[s.tier.value].append(f"  - {s.id} [{s.topic}]{neg}: {s.says}")
    n_neg = sum(1 for f in p.facts if f.negative)
    lines.append(f"Statements: {len(statements)} ({len(p.facts)} facts, {n_neg} pertinent negatives)")
    for tier in TIER_ORDER:
        if by_tier[tier.value]:
            lines.append(f" {tier.value}:")
            lines += by_tier[tier.value]
    st, af = p.style, p.affect
    lines += [
        "",
        f"Style: talkative {st.talkativeness.value}, cooperative {st.cooperativeness.value}, "
        f"health literacy {st.health_literacy.value}, language {st.language_proficiency.value}, "
        f"recall {st.recall.value}" + (f"; {st.personality}" if st.personality else ""),
        f"Affect: {af.baseline_emotion}; anxiety {af.anxiety}, rapport {af.rapport} "
        f"(needs {af.rapport_needed} for rapport-tier), distress {af.distress}, anger {af.anger}, pain {af.pain}",
        f"Culture: {p.culture.first_language}, fluency {p.culture.consultation_language_fluency.value}"
        + (", interpreter needed" if p.culture.interpreter_needed else ""),
    ]
    if p.bad_news:
        lines += [
            f"Bad news: {p.bad_news.news}",
            f"  knows/suspects: {p.bad_news.knows_or_suspects}",
            f'  first reaction: "{p.bad_news.reactions.to_news}"',
        ]
    pres = p.presentation
    hints = ", ".join(x for x in (pres.voice, pres.skin_tone, pres.hair, pres.clothing) if x)
    if hints:
        lines.append(f"Voice/appearance: {hints}")
    return "\n".join(line for line in lines if line is not None)
