"""Try the avatar without the speech loop: `python -m vpatient.avatar [--avatar desktop|vr] [--persona ID]`.

The scripted engine answers the persona's question file with a fake voice driving the lip-sync (no
audio is played). --screenshot PATH saves one frame offscreen and exits.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vpatient.avatar", description=__doc__)
    ap.add_argument("--avatar", default="desktop", choices=["desktop", "vr"])
    ap.add_argument("--persona", default="chest_pain_exertional", help="persona id under personas/")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to run (default: %(default)s)")
    ap.add_argument("--screenshot", metavar="PNG", help="render one frame offscreen to PNG and exit")
    args = ap.parse_args(argv)

    from vpatient.avatar.bench import PERSONAS, _consultation
    from vpatient.avatar.frontends import make_frontend
    from vpatient.persona.loader import load_persona

    persona = load_persona(PERSONAS / f"{args.persona}.yaml")
    if args.screenshot:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        from vpatient.avatar.desktop import DesktopFrontEnd
        from vpatient.avatar.render2d import import_pygame
        from vpatient.avatar.synth import speechlike

        desktop = DesktopFrontEnd(persona, offscreen=True)
        text = persona.small_talk.greeting
        desktop.driver.on_reply_audio(speechlike(text), 16000, text, start=0.0)
        import_pygame().image.save(desktop.render_at(0.3), args.screenshot)
        print(args.screenshot)
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    front = make_frontend(args.avatar, persona)
    stop = threading.Event()
    worker = threading.Thread(target=_consultation, args=(front, persona, stop, {"replies": 0}), daemon=True)
    front.start()
    worker.start()
    t0 = time.monotonic()
    try:
        while not front.closed and time.monotonic() - t0 < args.seconds:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    stop.set()
    front.close()
    for e in front.errors:
        print(e, file=sys.stderr)
    return 1 if front.errors else 0


if __name__ == "__main__":
    sys.exit(main())
