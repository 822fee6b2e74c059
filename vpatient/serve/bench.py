"""`vpatient bench serve`: N simulated students at once against a running `vpatient serve`, over loopback.

Each student starts a consultation and speaks its questions (a flite learner voice, never the patient's) in
real time, as 40 ms PCM blocks, hands-free: the server's own end-of-turn detection ends each turn. The
student waits for the whole reply (played in real time on the server's clock), pauses, and asks the next
question. Reported per N: voice-to-voice p50/p95 (the server's figure: last voiced sample of the learner to
first sample of the reply), turns sent and turns stored (from the store, via the API), errors, refusals, and
the server's CPU (cores used) and peak memory.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from vpatient.pipeline.session import percentile

QUESTIONS = [
    "When did the chest pain start?",
    "Do you smoke?",
    "Does anything make it better?",
    "Do you get short of breath?",
    "Is there any heart trouble in your family?",
    "What are you worried it might be?",
]


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/api/health", timeout=30) as res:
        out: dict[str, Any] = json.loads(res.read())
        return out


def _questions(n: int) -> list[np.ndarray]:
    from vpatient.speech.audio import STT_RATE, load_audio
    from vpatient.speech.learner import learner_voices, synthesise_utterances

    voice = learner_voices()[0]
    with tempfile.TemporaryDirectory() as tmp:
        paths = synthesise_utterances([QUESTIONS[i % len(QUESTIONS)] for i in range(n)], Path(tmp), voice)
        return [load_audio(p, STT_RATE) for p in paths]


def _student(url: str, case: str, audio: list[np.ndarray], pause_s: float, out: dict[str, Any]) -> None:
    from vpatient.serve.client import ServerClient, ServerError

    client = ServerClient(url, timeout=120)
    try:
        sid = client.start(case)
        out["session"] = sid
        client.connect(sid, voice=True)
        rate = 16000
        for samples in audio:
            lead = np.zeros(rate // 2, dtype=np.float32)
            tail = np.zeros(int(rate * 1.0), dtype=np.float32)  # hands-free: the server hears the silence
            out["sent"] += 1
            reply = client.speak(np.concatenate([lead, samples, tail]), rate, realtime=True, ptt=False)
            if reply.metrics.get("voice_to_voice_ms") is not None:
                out["v2v"].append(reply.metrics["voice_to_voice_ms"])
            out["errors"] += len(reply.errors)
            time.sleep(pause_s)
        client.end()
    except ServerError as exc:
        out["refused" if exc.code == "busy" else "failed"] += 1
        out["messages"].append(str(exc))
    except Exception as exc:  # a benchmark reports, it does not stop
        out["failed"] += 1
        out["messages"].append(f"{type(exc).__name__}: {exc}")
    finally:
        client.close()


def bench_serve(
    url: str, sessions: list[int], *, turns: int = 4, case: str = "chest_pain_exertional"
) -> dict[str, Any]:
    from vpatient.serve.client import ServerClient

    audio = _questions(turns)
    report: dict[str, Any] = {"server": url, "turns_per_student": turns, "case": case, "runs": []}
    for n in sessions:
        before = _health(url)
        results: list[dict[str, Any]] = [
            {"sent": 0, "v2v": [], "errors": 0, "refused": 0, "failed": 0, "messages": [], "session": None}
            for _ in range(n)
        ]
        t0 = time.perf_counter()
        threads = [
            threading.Thread(target=_student, args=(url, case, audio, 1.0, results[i]), daemon=True) for i in range(n)
        ]
        for i, th in enumerate(threads):
            th.start()
            time.sleep(0.5 if i < n - 1 else 0)  # students do not all start on the same frame
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        after = _health(url)
        v2v = [v for r in results for v in r["v2v"]]
        stored = 0
        client = ServerClient(url)
        for r in results:
            if r["session"]:
                stored += sum(1 for t in client.transcript(r["session"])["turns"] if t["role"] == "learner")
        cpu = after["process"]["cpu_s"] - before["process"]["cpu_s"]
        report["runs"].append(
            {
                "sessions": n,
                "voice_to_voice_ms": {
                    "p50": percentile(v2v, 0.5),
                    "p95": percentile(v2v, 0.95),
                    "max": round(max(v2v), 1) if v2v else None,
                },
                "turns_sent": sum(r["sent"] for r in results),
                "turns_answered": len(v2v),
                "turns_stored": stored,
                "errors": sum(r["errors"] for r in results),
                "refused": sum(r["refused"] for r in results),
                "failed": sum(r["failed"] for r in results),
                "messages": [m for r in results for m in r["messages"]][:5],
                "wall_s": round(wall, 1),
                "server_cpu_cores": round(cpu / wall, 2) if wall else None,
                "server_max_rss_mb": after["process"]["max_rss_mb"],
            }
        )
    return report
