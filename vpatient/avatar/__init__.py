"""The patient's avatar: one state (lip-sync, blinking, gaze, head movement, expression, cues,
subtitles) drawn by a desktop window (pygame) or a VR headset (pyopenxr).

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
