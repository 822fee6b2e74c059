"""An OpenAI-compatible llama.cpp server in its own process (vLLM / llama-server stand-in):

    python -m vpatient.inference.serve --port 8080 --slots 4        # packaged SmolLM2 by default

It prints one line, `vpatient: serving MODEL at http://HOST:PORT/v1`, once ready, then serves
/v1/chat/completions (streaming included) until SIGTERM or Ctrl-C. Point the `openai` backend at it:
`create_backend("openai", endpoint="http://HOST:PORT/v1")`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from vpatient.errors import VPatientError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vpatient.inference.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .gguf file (default: the packaged SmolLM2-135M-Instruct)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--slots", type=int, default=4, help="parallel slots (default: %(default)s)")
    parser.add_argument("--ctx-per-slot", type=int, default=2048, help="context per slot (default: %(default)s)")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads (default: cores - 1, at least 1, at most 8)"
    )
    parser.add_argument("--verbose", action="store_true", help="llama.cpp's own log on stderr")
    args = parser.parse_args(argv)

    from .llamacpp import ChatLlamaCpp

    model = ChatLlamaCpp(
        model_path=args.model,
        host=args.host,
        port=args.port,
        n_parallel=args.slots,
        ctx_per_slot=args.ctx_per_slot,
        n_threads=args.threads,
        verbose=args.verbose,
    )
    try:
        address = model.listening_address
    except VPatientError as exc:
        print(f"vpatient: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"vpatient: serving {model.model_name_for_reports} at {address}/v1", flush=True)
    while not stop.wait(0.5):
        pass
    model.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
