"""`vpatient avatar render|export`: a picture of a persona's 3D patient, or the patient as glTF (.glb)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from vpatient.errors import VPatientError


def register(sub: Any) -> None:
    p = sub.add_parser("avatar", help="the 3D patient: render a picture, export glTF")
    actions = p.add_subparsers(dest="avatar_action", required=True, metavar="ACTION")
    r = actions.add_parser(
        "render",
        help="render the persona's patient to a PNG (offscreen OpenGL)",
        description="Draws the persona's 3D patient in the consulting room, offscreen (EGL; Mesa llvmpipe "
        "without a GPU), holding one viseme and one expression.",
    )
    r.add_argument("--persona", required=True, metavar="FILE", help="persona YAML")
    r.add_argument("--viseme", default=None, help="sil PP FF TH DD kk CH SS nn RR aa E I O U (default: mouth at rest)")
    r.add_argument(
        "--expression", default="neutral", help="neutral, anxious, in_pain, sad, angry, relieved (default: %(default)s)"
    )
    r.add_argument("--blink", type=float, default=0.0, help="eyelids 0 open .. 1 closed (default: %(default)s)")
    r.add_argument("--size", default="1280x720", metavar="WxH", help="picture size (default: %(default)s)")
    r.add_argument(
        "--framing",
        default="desk",
        choices=["desk", "face"],
        help="desk: the learner's view across the desk; face: a close-up (default: %(default)s)",
    )
    r.add_argument("--out", required=True, metavar="PNG")
    r.set_defaults(handler=_render)
    e = actions.add_parser(
        "export",
        help="export the persona's patient as glTF 2.0 (.glb) with its ARKit morph targets",
        description="Writes the patient's head and upper body with normals, vertex colours and the 52 "
        "ARKit-named blendshapes as morph targets (names in mesh.extras.targetNames), then validates the file.",
    )
    e.add_argument("--persona", required=True, metavar="FILE", help="persona YAML")
    e.add_argument("--out", required=True, metavar="GLB")
    e.set_defaults(handler=_export)


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or not (16 <= int(w) <= 8192 and 16 <= int(h) <= 8192):
        raise VPatientError(f"--size {text!r}: use WIDTHxHEIGHT, e.g. 1280x720")
    return int(w), int(h)


def _look(path: str) -> Any:
    from vpatient.avatar.appearance import appearance_from_persona
    from vpatient.persona.loader import load_persona

    persona = load_persona(Path(path))
    return appearance_from_persona(persona), persona


def _render(args: argparse.Namespace) -> int:
    from vpatient.avatar.face import still_state
    from vpatient.avatar.render3d import Renderer3D, save_png

    size = _size(args.size)
    try:
        state = still_state(args.viseme, args.expression, args.blink)
    except ValueError as exc:
        raise VPatientError(str(exc)) from exc
    look, persona = _look(args.persona)
    t0 = time.perf_counter()
    renderer = Renderer3D(look, size, build=persona.presentation.notes, samples=4, framing=args.framing)
    frame = renderer.render(state)
    save_png(frame, args.out)
    renderer.release()
    print(f"{args.out} ({size[0]}x{size[1]}, {time.perf_counter() - t0:.1f} s)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from vpatient.avatar.gltf import export_glb, validate_glb
    from vpatient.avatar.mesh3d import patient_mesh

    look, persona = _look(args.persona)
    summary = export_glb(patient_mesh(look, persona.presentation.notes), args.out, name=persona.id)
    validate_glb(args.out)
    print(json.dumps(summary))
    return 0
