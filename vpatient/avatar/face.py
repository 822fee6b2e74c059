"""From an `AvatarState` to the 3D face: Oculus's 15 visemes and the expressions as ARKit blendshape mixes.

Pure Python (no OpenGL): the renderer, the glTF export and the tests share it. Weights are in 0..1 per
ARKit blendshape name (`vpatient.avatar.mesh3d.ARKIT`).
"""

from __future__ import annotations

from vpatient.avatar.expressions import EMOTIONS, expression_for
from vpatient.avatar.lipsync import VISEME_NAMES
from vpatient.avatar.state import AvatarState


def _lr(name: str, w: float) -> dict[str, float]:
    return {f"{name}Left": w, f"{name}Right": w}


# Oculus viseme -> ARKit mix (jawOpen opens the jaw, teeth and tongue follow; mouthClose keeps lips shut).
VISEME_ARKIT: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"mouthClose": 0.35, **_lr("mouthPress", 0.2)},
    "FF": {"jawOpen": 0.1, "mouthRollLower": 0.6, **_lr("mouthUpperUp", 0.3), "mouthShrugUpper": 0.2},
    "TH": {"jawOpen": 0.22, "tongueOut": 0.45, **_lr("mouthStretch", 0.15)},
    "DD": {"jawOpen": 0.25, **_lr("mouthStretch", 0.2), "mouthShrugUpper": 0.15},
    "kk": {"jawOpen": 0.3, **_lr("mouthStretch", 0.3), "mouthShrugUpper": 0.1},
    "CH": {"jawOpen": 0.2, "mouthFunnel": 0.5, "mouthPucker": 0.25, "mouthShrugUpper": 0.25},
    "SS": {"jawOpen": 0.1, **_lr("mouthStretch", 0.4), **_lr("mouthSmile", 0.15)},
    "nn": {"jawOpen": 0.2, **_lr("mouthStretch", 0.15)},
    "RR": {"jawOpen": 0.2, "mouthFunnel": 0.4, "mouthPucker": 0.3},
    "aa": {"jawOpen": 0.75, **_lr("mouthLowerDown", 0.35), **_lr("mouthUpperUp", 0.1)},
    "E": {"jawOpen": 0.4, **_lr("mouthStretch", 0.35), **_lr("mouthSmile", 0.2), **_lr("mouthLowerDown", 0.2)},
    "I": {"jawOpen": 0.25, **_lr("mouthSmile", 0.4), **_lr("mouthStretch", 0.3)},
    "O": {"jawOpen": 0.45, "mouthFunnel": 0.6, "mouthPucker": 0.2},
    "U": {"jawOpen": 0.2, "mouthPucker": 0.85, "mouthFunnel": 0.3},
}
assert set(VISEME_ARKIT) == set(VISEME_NAMES)


def viseme_weights(visemes: tuple[float, ...]) -> dict[str, float]:
    """The ARKit mix for a blend of visemes (weights in VISEME_NAMES order)."""
    out: dict[str, float] = {}
    for name, w in zip(VISEME_NAMES, visemes, strict=False):
        if w <= 1e-4:
            continue
        for shape, k in VISEME_ARKIT[name].items():
            out[shape] = out.get(shape, 0.0) + w * k
    return out


def expression_weights(state: AvatarState) -> dict[str, float]:
    """The ARKit mix of the state's expression (worry, pain, sadness, anger, relief) and its blink."""
    e = state.expression
    out: dict[str, float] = {}

    def add(name: str, w: float) -> None:
        if w > 0:
            out[name] = out.get(name, 0.0) + w

    add("browInnerUp", 0.9 * max(0.0, e.brow_inner))
    for side in ("Left", "Right"):
        add(f"browDown{side}", 0.8 * max(0.0, -e.brow_inner) + 0.6 * max(0.0, -e.brow_raise))
        add(f"browOuterUp{side}", 0.7 * max(0.0, e.brow_raise))
        add(f"mouthSmile{side}", 0.7 * max(0.0, e.smile))
        add(f"mouthFrown{side}", 0.8 * max(0.0, -e.smile))
        add(f"eyeSquint{side}", 0.25 * e.squint + 0.3 * max(0.0, e.smile - 0.4))
        add(f"cheekSquint{side}", 0.25 * e.squint + 0.4 * max(0.0, e.smile - 0.3))
        add(f"eyeWide{side}", 1.2 * max(0.0, e.eye_open - 1.0))
        add(f"mouthStretch{side}", 0.35 * e.mouth_tense)
        add(f"mouthPress{side}", 0.3 * e.mouth_tense)
        add(f"noseSneer{side}", 0.5 * max(0.0, e.mouth_tense - 0.6) + 0.3 * max(0.0, -e.brow_inner - 0.8))
    # the lids: a narrowed eye (pain, sadness) plus the blink; gaze down lowers the upper lid a little
    closed = max(0.0, 1.0 - e.eye_open) * 0.25
    blink = max(closed, min(1.0, closed + state.blink * (1.0 - closed)))
    for side in ("Left", "Right"):
        add(f"eyeBlink{side}", blink)
        add(f"eyeLookDown{side}", 0.4 * max(0.0, state.gaze_y))
        add(f"eyeLookUp{side}", 0.4 * max(0.0, -state.gaze_y))
    return out


def face_weights(state: AvatarState) -> dict[str, float]:
    """All ARKit weights for a state: speech (visemes, or the envelope's openness when there are none)
    over the expression, clipped to 0..1."""
    out = expression_weights(state)
    if state.visemes:
        speech = viseme_weights(state.visemes)
    else:  # an older caller with only mouth_open/mouth_wide
        o, wd = state.mouth_open, state.mouth_wide
        speech = {"jawOpen": 0.7 * o, "mouthFunnel": 0.5 * o * max(0.0, -wd)}
        speech.update(_lr("mouthStretch", 0.3 * o * max(0.0, wd)))
    for name, w in speech.items():
        out[name] = out.get(name, 0.0) + w
    return {k: min(1.0, max(0.0, v)) for k, v in out.items() if v > 1e-4}


def still_state(
    viseme: str | None = None, expression: str = "neutral", blink: float = 0.0, t: float = 0.0
) -> AvatarState:
    """A posed face for pictures and tests: one viseme held, one expression, the eyes open or closed
    (no seeded movement: the head and gaze look straight at the learner)."""
    if viseme is not None and viseme not in VISEME_NAMES:
        raise ValueError(f"viseme {viseme!r}: use one of {', '.join(VISEME_NAMES)}")
    if expression not in EMOTIONS:
        raise ValueError(f"expression {expression!r}: use one of {', '.join(EMOTIONS)}")
    vis = tuple(1.0 if n == viseme else 0.0 for n in VISEME_NAMES) if viseme else ()
    expr = expression_for(expression)
    return AvatarState(
        t=t,
        mode="speaking" if viseme else "listening",
        emotion=expression,
        expression=expr,
        visemes=vis,
        blink=blink,
        head_pitch=expr.head_pitch,
    )
