"""The avatar state without any drawing: lip-sync envelope, visemes, blinking, determinism, modes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vpatient.avatar import AvatarDriver, Phoneme, expression_for, lip_track
from vpatient.avatar.lipsync import RATE, envelope
from vpatient.avatar.state import blink_at
from vpatient.avatar.synth import speechlike

SR = 16000


def tone(seconds: float, level: float) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (level * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def test_envelope_rate_and_levels() -> None:
    db, _zcr = envelope(np.concatenate([tone(0.5, 0.3), np.zeros(SR // 2, np.float32)]), SR)
    assert abs(db.size - RATE) <= 1
    assert db[20] > -20 and db[-20] < -100


def test_loud_opens_silence_closes_at_30fps() -> None:
    audio = np.concatenate([tone(0.6, 0.3), np.zeros(int(SR * 0.6), np.float32), tone(0.6, 0.3)])
    track = lip_track(audio, SR)
    opens = [track.at(i / 30)[0] for i in range(int(track.duration * 30))]
    assert max(opens[3:15]) > 0.8  # loud
    assert max(opens[26:34]) < 0.05  # silent gap, after the release
    assert max(opens[40:52]) > 0.8
    assert track.at(-0.1) == (0.0, 0.0) and track.at(track.duration + 0.1) == (0.0, 0.0)


def test_quiet_opens_less_than_loud() -> None:
    quiet, loud = lip_track(tone(0.5, 0.02), SR), lip_track(tone(0.5, 0.3), SR)
    assert 0.0 < quiet.at(0.3)[0] < loud.at(0.3)[0]


def test_phonemes_shape_the_mouth() -> None:
    audio = tone(0.6, 0.3)
    track = lip_track(audio, SR, [Phoneme(0.0, 0.2, "M"), Phoneme(0.2, 0.4, "AA1"), Phoneme(0.4, 0.6, "UW")])
    assert track.at(0.1)[0] == 0.0  # lips closed on M however loud
    assert track.at(0.3)[0] > 0.9
    assert track.at(0.5)[1] < -0.5  # rounded


def test_stereo_and_bad_rate() -> None:
    assert lip_track(np.stack([tone(0.3, 0.3)] * 2, axis=1), SR).duration == pytest.approx(0.3)
    with pytest.raises(ValueError, match="sample_rate"):
        lip_track(tone(0.3, 0.3), 0)


def test_blinks_are_seeded_and_happen() -> None:
    frames = [blink_at(7, i / 60) for i in range(60 * 12)]
    assert max(frames) > 0.95 and sum(f > 0.5 for f in frames) < len(frames) * 0.1
    assert frames == [blink_at(7, i / 60) for i in range(60 * 12)]
    assert frames != [blink_at(8, i / 60) for i in range(60 * 12)]


def test_same_inputs_same_state_and_modes() -> None:
    def run() -> list[object]:
        d = AvatarDriver(seed=3, clock=lambda: 0.0)
        d.set_state("listening", at=0.0)
        d.on_reply_audio(
            speechlike("Morning, doctor. It started three weeks ago."), SR, "Morning", "anxious", start=1.0
        )
        return [d.state_at(i / 30) for i in range(150)]

    a, b = run(), run()
    assert a == b
    assert a[0].mode == "listening" and a[45].mode == "speaking"
    assert a[-1].mode == "listening" or a[-1].t < 1.0 + 3.0
    assert a[45].subtitle == "Morning"
    assert a[0].expression != a[45].expression  # moved towards anxious
    assert a[-1].expression == expression_for("anxious")


def test_thinking_looks_away_and_interrupt_closes_mouth() -> None:
    d = AvatarDriver(seed=1, clock=lambda: 0.0)
    d.set_state("thinking", at=0.0)
    assert d.state_at(1.0).gaze_y < -0.2 and d.state_at(1.0).mode == "thinking"
    d.on_reply_audio(tone(2.0, 0.3), SR, start=0.0)
    assert d.state_at(0.5).mouth_open > 0.5
    d.stop_speaking()
    assert d.state_at(0.6).mouth_open == 0.0 and d.state_at(0.6).mode == "listening"


def test_unknown_emotion_and_mode_are_ignored() -> None:
    d = AvatarDriver(clock=lambda: 0.0)
    d.set_emotion("ecstatic")
    d.set_state("dancing")
    s = d.state_at(1.0)
    assert s.emotion == "neutral" and s.mode == "idle"


def test_sentences_queue_back_to_back() -> None:
    clock = [0.0]
    d = AvatarDriver(clock=lambda: clock[0])
    d.set_state("thinking")
    first = d.on_reply_audio(tone(1.0, 0.3), SR, "First sentence.")
    second = d.on_reply_audio(tone(0.5, 0.3), SR, "Second one.")  # queued while the first plays
    assert first == pytest.approx(1.0) and second == pytest.approx(0.5)
    assert d.state_at(0.5).subtitle == "First sentence." and d.state_at(0.5).mouth_open > 0.5
    assert d.state_at(1.25).subtitle == "Second one." and d.state_at(1.25).mouth_open > 0.5
    end = d.state_at(1.7)
    assert end.mode == "listening" and end.mouth_open == 0.0 and end.subtitle == ""


def test_pipeline_messages_drive_the_avatar() -> None:
    from vpatient.avatar import make_frontend

    messages = pytest.importorskip("vpatient.pipeline.messages")
    av = make_frontend("none")
    silent = np.zeros(SR, np.float32)
    av.handle(messages.SpeechStarted(t=0.0))
    assert av.state().mode == "listening"
    av.handle(messages.UserText("Any chest pain?", 0.0, 1.0, silent, 0.0, 10.0))
    assert av.state().mode == "thinking"
    av.handle(messages.AudioOut(tone(1.0, 0.3), SR, "Yes, doctor.", 0, True, 1, emotion="anxious"))
    s = av.state()
    assert s.mode == "speaking" and s.subtitle == "Yes, doctor."
    av.handle(messages.Interruption(t=0.5))
    assert av.state().mode == "listening" and av.state().mouth_open == 0.0


def test_visemes_from_ipa_and_arpabet() -> None:
    from vpatient.avatar.lipsync import ipa_symbols, misaki_to_ipa, viseme_name

    assert [viseme_name(p) for p in ("p", "AA1", "tʃ", "ʃ", "θ", "UW", "ɪ", "oʊ", "s", "r")] == [
        "PP", "aa", "CH", "CH", "TH", "U", "I", "O", "SS", "RR",
    ]  # fmt: skip
    assert viseme_name("?") is None
    assert ipa_symbols("mˈɔɹnɪŋ, dˈɑktəɹ.") == [
        "m",
        "ɔ",
        "ɹ",
        "n",
        "ɪ",
        "ŋ",
        ",",
        " ",
        "d",
        "ɑ",
        "k",
        "t",
        "ə",
        "ɹ",
        ",",
    ]
    assert ipa_symbols("tʃˈeɪndʒ") == ["tʃ", "eɪ", "n", "dʒ"]
    assert misaki_to_ipa("əɡˈO") == "əɡˈoʊ"


def test_phonemes_are_timed_over_the_voiced_audio() -> None:
    from vpatient.avatar.lipsync import timed_phonemes

    # two "words" of sound with a 300 ms pause between them, as the text's comma asks
    audio = np.concatenate([np.zeros(SR // 10), tone(0.5, 0.3), np.zeros(int(SR * 0.3)), tone(0.5, 0.3)])
    ph = timed_phonemes("mɑm, bɑb", audio, SR)
    assert [p.symbol for p in ph] == ["m", "ɑ", "m", "b", "ɑ", "b"]
    assert ph[0].start == pytest.approx(0.1, abs=0.03) and ph[-1].end == pytest.approx(1.4, abs=0.03)
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(ph))
    assert ph[2].end <= 0.62 and ph[3].start >= 0.88  # nothing is placed in the pause
    vowel, consonant = ph[1].end - ph[1].start, ph[0].end - ph[0].start
    assert vowel > consonant  # vowels get more time
    assert timed_phonemes("", audio, SR) == [] and timed_phonemes("mɑm", np.zeros(SR), SR) == []


def test_audio_out_phonemes_drive_the_visemes() -> None:
    from vpatient.avatar import FrontEnd
    from vpatient.avatar.lipsync import VISEME_NAMES
    from vpatient.pipeline import messages

    av = FrontEnd(None)
    av.driver.clock = lambda: 0.0
    audio = tone(0.6, 0.3)
    av.handle(messages.AudioOut(audio, SR, "Ma.", 0, True, 1, phonemes="mˈɑ."))
    assert not av.errors
    track = av.driver._replies[-1].track
    first, later = track.visemes_at(0.05), track.visemes_at(0.45)
    assert VISEME_NAMES[int(np.argmax(first))] == "PP"  # lips closed for the m
    assert VISEME_NAMES[int(np.argmax(later))] == "aa"  # jaw open for the vowel
    # no phonemes: the envelope gives visemes too (open for loud audio)
    env = lip_track(audio, SR)
    assert VISEME_NAMES[int(np.argmax(env.visemes_at(0.3)))] == "aa"


def test_hibari_phonemes_time_the_real_voice() -> None:
    pytest.importorskip("hibari")
    from vpatient.avatar.lipsync import timed_phonemes, viseme_name
    from vpatient.speech.tts import HibariTTS

    tts = HibariTTS()
    text = "Morning, doctor. It started three weeks ago."
    audio = tts.synthesize(text)
    ph = timed_phonemes(tts.phonemes(text), audio, tts.sample_rate)
    assert len(ph) > 20 and ph[0].symbol == "m" and viseme_name(ph[0].symbol) == "PP"
    assert all(viseme_name(p.symbol) is not None for p in ph), [p.symbol for p in ph if viseme_name(p.symbol) is None]
    assert ph[-1].end <= len(audio) / tts.sample_rate + 0.01
