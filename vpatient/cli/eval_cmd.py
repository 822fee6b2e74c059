"""`vpatient eval fidelity` (and the other measurements registered under `eval`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="measure the persona engine and the grader")
    esub = p.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    f = esub.add_parser("fidelity", help="disclosure recall, leakage, contradictions, unsupported claims")
    f.add_argument("--persona", nargs="+", metavar="FILE", required=True, help="persona file(s)")
    f.add_argument(
        "--questions",
        nargs="*",
        metavar="FILE",
        help="question file(s), in the order of --persona (default: personas/questions/<id>.yaml beside each persona)",
    )
    f.add_argument("--json", action="store_true", help="print JSON (every turn included)")
    f.add_argument("--limit", type=int, metavar="N", help="only the first N utterances of each question file")
    f.add_argument("--verbose", action="store_true", help="print every turn, not only the failures")
    from vpatient.cli.chat_cmd import add_engine_options

    add_engine_options(f)
    f.set_defaults(both=False)
    f.add_argument("--both", action="store_true", help="run the scripted and the LLM engine, side by side")
    f.set_defaults(handler=fidelity)
    c = esub.add_parser(
        "conversation", help="whole consultations, each reply judged from its text (acceptable, recall, early, ...)"
    )
    c.add_argument(
        "--dir", default="eval/conversations", metavar="DIR", help="folder with dev/ and heldout/ conversation files"
    )
    c.add_argument("--split", choices=["dev", "heldout", "both"], default="both", help="which split to run")
    c.add_argument("--personas", default="personas", metavar="DIR", help="folder of the persona files")
    c.add_argument("--only", metavar="PERSONA_ID", help="run only this persona's conversations")
    c.add_argument("--json", action="store_true", help="print JSON (every line included)")
    c.add_argument("--failures", action="store_true", help="print every unacceptable reply and why")
    add_engine_options(c)
    c.set_defaults(handler=conversation)
    from vpatient.cli.eval_grader_cmd import register_grader

    register_grader(esub)


def _question_path(persona_path: Path, persona_id: str) -> Path:
    return persona_path.parent / "questions" / f"{persona_id}.yaml"


def fidelity(args: argparse.Namespace) -> int:
    from vpatient.cli.chat_cmd import engine_from_args
    from vpatient.embeddings import default_embedder
    from vpatient.persona.fidelity import load_questions, run
    from vpatient.persona.grounding import Grounding
    from vpatient.persona.loader import load_persona

    if args.questions and len(args.questions) != len(args.persona):
        raise SystemExit("vpatient eval fidelity: give one --questions file per --persona file")
    embedder = default_embedder()
    reports = []
    for k, ppath in enumerate(args.persona):
        persona = load_persona(ppath)
        qpath = Path(args.questions[k]) if args.questions else _question_path(Path(ppath), persona.id)
        questions = load_questions(qpath, persona)
        grounding = Grounding(persona, embedder)
        for name in ["scripted", "llm"] if args.both else [args.engine]:
            engine = engine_from_args(argparse.Namespace(**{**vars(args), "engine": name}), persona, embedder)
            try:
                reports.append(run(persona, questions, engine, grounding, limit=args.limit))
            finally:
                if hasattr(engine, "close"):
                    engine.close()
    total = {
        "utterances": sum(r.utterances for r in reports),
        "recall": round(sum(r.recalled for r in reports) / max(1, sum(r.required for r in reports)), 4),
        "leakage": sum(r.leaks for r in reports),
        "contradictions": sum(r.contradictions for r in reports),
        "unsupported": sum(r.unsupported for r in reports),
    }
    if args.json:
        out = (
            reports[0].to_json() if len(reports) == 1 else {"personas": [r.to_json() for r in reports], "total": total}
        )
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    for r in reports:
        s = r.summary()
        print(
            f"{s['persona']} [{s['engine']}]: {s['utterances']} utterances, recall {s['recall']:.1%} "
            f"({s['recalled']}/{s['required']}), leakage {s['leakage']}, contradictions {s['contradictions']}, "
            f"unsupported {s['unsupported']}"
        )
        if s["engine"] != "scripted":
            print(
                f"  replies: {s['reply_modes']} (all own words {s['rephrased_rate']:.0%}, own words at least in "
                f"part {s['own_words_rate']:.0%}); time per reply: mean {s['ms_per_reply_mean'] / 1000:.1f} s, "
                f"median {s['ms_per_reply_median'] / 1000:.1f} s"
            )
            print(f"  fallbacks: {s['fallback_reasons']}")
        for i, t in enumerate(r.turns):
            bad = t.missed or t.leaked or t.conflicts or t.unsupported
            if bad or args.verbose:
                print(f"  [{i}] {t.say}\n      -> {t.reply}")
                for label, items in (
                    ("missed", t.missed),
                    ("LEAKED", t.leaked),
                    ("CONTRADICTS", t.conflicts),
                    ("unsupported", t.unsupported),
                ):
                    if items:
                        print(f"      {label}: {', '.join(items)}")
    if len(reports) > 1:
        print(
            f"TOTAL: {total['utterances']} utterances, recall {total['recall']:.1%}, leakage {total['leakage']}, "
            f"contradictions {total['contradictions']}, unsupported {total['unsupported']}"
        )
    return 0


def conversation(args: argparse.Namespace) -> int:
    from vpatient.cli.chat_cmd import engine_from_args
    from vpatient.embeddings import default_embedder
    from vpatient.errors import VPatientError
    from vpatient.persona.conversation_eval import Judge, load_conversation, run_conversation, summarise
    from vpatient.persona.grounding import Grounding
    from vpatient.persona.loader import load_persona

    embedder = default_embedder()
    splits = ["dev", "heldout"] if args.split == "both" else [args.split]
    report: dict[str, Any] = {}
    personas: dict[str, Any] = {}
    for split in splits:
        files = sorted((Path(args.dir) / split).glob("*.yaml"))
        if not files:
            print(f"{split}: no conversation files in {Path(args.dir) / split}")
            continue
        results = []
        for path in files:
            try:
                conv = load_conversation(path)
            except VPatientError as exc:
                print(f"{path}: skipped: {exc}")
                continue
            if args.only and conv.persona != args.only:
                continue
            if conv.persona not in personas:
                persona = load_persona(Path(args.personas) / f"{conv.persona}.yaml")
                personas[conv.persona] = (persona, Judge(persona, Grounding(persona, embedder)))
            persona, judge = personas[conv.persona]
            engine = engine_from_args(args, persona, embedder, session_id=f"eval-{path.stem}")
            try:
                result = run_conversation(conv, engine, judge, file=str(path))
            finally:
                if hasattr(engine, "close"):
                    engine.close()
            results.append(result)
            if not args.json:
                print(
                    f"{split} {path.name}: {result.acceptable}/{len(result.lines)} acceptable, recall "
                    f"{result.recall_told}/{result.recall_expected}, early {result.early}, "
                    f"contradictions {result.contradictions}"
                )
                if args.failures:
                    for i, line in enumerate(result.lines):
                        if not line.ok:
                            print(f"  [{i}] {line.say}\n      -> {line.reply}\n      {'; '.join(line.problems)}")
        report[split] = {"summary": summarise(results), "conversations": [r.to_json() for r in results]}
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    for split, data in report.items():
        s = data["summary"]
        print(
            f"{split.upper()} [{args.engine}]: {s['conversations']} consultations, {s['lines']} lines: acceptable "
            f"{s['acceptable_rate']:.1%}, fact recall {s['fact_recall']:.1%}, early disclosures "
            f"{s['early_disclosures']}, contradictions {s['contradictions']}, own words {s['own_words_rate']:.0%}, "
            f"{s['seconds_per_reply'] * 1000:.0f} ms per reply"
        )
    return 0
