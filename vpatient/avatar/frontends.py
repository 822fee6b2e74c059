"""Front ends and the one call the talk loop needs: `make_frontend(kind, persona)`.

    avatar = make_frontend(args.avatar, persona)      # "desktop", "vr" or "none"
    avatar.start()
    avatar.set_state("listening")                      # mic open
    avatar.set_state("thinking")                       # transcript in, reply being generated
    avatar.on_reply_audio(audio, sr, text, emotion)    # right when playback of the reply starts
    avatar.on_interrupt()                              # barge-in: playback cancelled
    ...
    if avatar.closed: ...                              # the learner closed the window
    avatar.close()

Every method is safe to call from the talk loop's thread; none blocks (rendering runs in the front
end's own thread) and none raises during a session: failures are reported on `errors` and logged.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np

from vpatient.avatar.appearance import Appearance, appearance_from_persona
from vpatient.avatar.lipsync import Phoneme, timed_phonemes
from vpatient.avatar.state import AvatarDriver, AvatarState

log = logging.getLogger(__name__)
KINDS = ("desktop", "vr", "none")


class FrontEnd:
    """The avatar as the talk loop sees it. This base class is the `none` front end: it keeps the state
    (so `state()` still answers) and draws nothing."""

    kind = "none"

    def __init__(
        self,
        persona: Any = None,
        *,
        seed: int | None = None,
        subtitles: bool = True,
        audio_latency: float = 0.0,
        appearance: Appearance | None = None,
    ) -> None:
        self.persona = persona
        self.appearance = appearance or (appearance_from_persona(persona) if persona is not None else Appearance())
        emotion = persona.affect.baseline_emotion if persona is not None else "neutral"
        self.driver = AvatarDriver(
            seed=self.appearance.seed if seed is None else seed,
            emotion=emotion,
            audio_latency=audio_latency,
            subtitles=subtitles,
        )
        self.errors: list[str] = []
        self._closed = False

    # --- lifecycle ---
    def start(self) -> None:
        """Open the window / headset session (no-op for `none`)."""

    def close(self) -> None:
        self._closed = True

    @property
    def closed(self) -> bool:
        """True once the learner closed the window (or the headset session ended)."""
        return self._closed

    def __enter__(self) -> FrontEnd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- events from the talk loop ---
    def set_state(self, mode: str) -> None:
        """'listening' | 'thinking' | 'speaking' | 'idle'."""
        self.driver.set_state(mode)

    def set_emotion(self, emotion: str | None) -> None:
        """neutral, anxious, in_pain, sad, angry or relieved (as `AffectState.emotion` / `Reply.emotion`)."""
        self.driver.set_emotion(emotion)

    def set_subtitle(self, text: str) -> None:
        self.driver.set_subtitle(text)

    def on_reply_audio(
        self,
        audio: np.ndarray,
        sample_rate: int,
        text: str = "",
        emotion: str | None = None,
        phonemes: list[Phoneme] | None = None,
        start: float | None = None,
    ) -> float:
        """Lip-sync to a reply whose playback starts now (or at `start`, on time.monotonic()).
        Returns its duration in seconds. Never raises: a bad array is reported on `errors`."""
        try:
            return self.driver.on_reply_audio(audio, sample_rate, text, emotion, phonemes, start)
        except Exception as exc:  # a live session degrades rather than stops
            self.report(f"avatar lip-sync failed: {exc}")
            self.driver.set_subtitle(text)
            self.driver.set_emotion(emotion)
            return 0.0

    def on_interrupt(self) -> None:
        """The learner talked over the patient: close the mouth and listen."""
        self.driver.stop_speaking()

    def handle(self, msg: object) -> None:
        """Follow the live pipeline's messages (vpatient.pipeline.messages), for a talk loop that forwards
        every message it sees: SpeechStarted -> listening (barge-in closes the mouth), UserText ->
        thinking, PatientText -> emotion, AudioOut -> lip-sync (visemes timed from its phonemes when the voice
        gave them, else the audio envelope; queued after the sentences before it),
        Interruption -> stop. Call it when the audio is handed to the speaker. Others are ignored."""
        name = type(msg).__name__
        get = getattr
        if name == "SpeechStarted":
            if get(msg, "over_patient", False):
                self.on_interrupt()
            else:
                self.set_state("listening")
        elif name == "UserText":
            self.set_state("thinking")
        elif name == "PatientText":
            self.set_emotion(get(msg, "emotion", None))
        elif name == "AudioOut":
            samples, rate = get(msg, "samples"), get(msg, "sample_rate")
            phonemes = None
            ipa = get(msg, "phonemes", "")
            if ipa:
                try:
                    phonemes = timed_phonemes(ipa, samples, rate) or None
                except Exception as exc:  # the envelope still drives the mouth
                    self.report(f"avatar phoneme timing failed: {exc}")
            self.on_reply_audio(samples, rate, get(msg, "text", ""), get(msg, "emotion", None), phonemes)
        elif name == "Interruption":
            self.on_interrupt()

    def state(self) -> AvatarState:
        return self.driver.state_at()

    def report(self, message: str) -> None:
        self.errors.append(message)
        log.warning("%s", message)


def make_frontend(kind: str, persona: Any = None, **options: Any) -> FrontEnd:
    """The front end for `vpatient talk --avatar KIND`: 'desktop' (pygame window), 'vr' (OpenXR headset;
    with no runtime it says so on stderr and opens the desktop window instead) or 'none'.

    options: seed, subtitles, audio_latency (all front ends); size, fps, offscreen (desktop);
    fallback=False (vr: raise instead of falling back).
    """
    if kind == "none":
        return FrontEnd(persona, **_common(options))
    if kind == "desktop":
        from vpatient.avatar.desktop import DesktopFrontEnd

        return DesktopFrontEnd(persona, **options)
    if kind == "vr":
        from vpatient.avatar.vr import VRFrontEnd, XRUnavailable, probe_runtime

        fallback = options.pop("fallback", True)
        try:
            probe_runtime()
        except XRUnavailable as exc:
            if not fallback:
                raise
            print(f"vpatient: no VR headset: {exc}. Showing the patient in a desktop window instead.", file=sys.stderr)
            from vpatient.avatar.desktop import DesktopFrontEnd

            vr_only = ("binding", "max_frames", "on_view")
            return DesktopFrontEnd(persona, **{k: v for k, v in options.items() if k not in vr_only})
        return VRFrontEnd(persona, **options)
    raise ValueError(f"--avatar {kind!r}: use one of {', '.join(KINDS)}")


def _common(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("seed", "subtitles", "audio_latency", "appearance")}
