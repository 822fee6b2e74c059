"""The avatar's look from the persona (age, sex, skin tone, hair, clothing, notes), procedurally.

Free-text hints ('short grey, receding', 'medium-brown') are read by keyword; anything not understood
falls back to a plausible default for the age and sex, so a faculty file never breaks the avatar.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

RGB = tuple[int, int, int]

SKIN: list[tuple[tuple[str, ...], RGB]] = [  # checked in order: the most specific phrase first
    (("very dark", "deep", "black"), (92, 58, 40)),
    (("dark brown",), (120, 78, 52)),
    (("medium-brown", "medium brown", "brown"), (168, 116, 80)),
    (("olive",), (198, 152, 110)),
    (("medium",), (204, 160, 124)),
    (("very light", "pale", "fair"), (246, 218, 200)),
    (("light",), (236, 198, 170)),
    (("dark",), (120, 78, 52)),
]
HAIR_COLOURS: list[tuple[tuple[str, ...], RGB]] = [
    (("white",), (232, 232, 228)),
    (("silver",), (200, 200, 204)),
    (("grey", "gray"), (160, 158, 155)),
    (("blonde", "blond", "fair"), (218, 188, 120)),
    (("ginger", "red", "auburn"), (160, 72, 36)),
    (("black", "dark"), (32, 26, 24)),
    (("brown",), (96, 62, 38)),
]
CLOTHES: list[tuple[tuple[str, ...], RGB]] = [
    (("navy",), (34, 44, 86)),
    (("cream", "white", "beige"), (226, 216, 190)),
    (("grey", "gray"), (120, 122, 128)),
    (("black", "dark"), (44, 44, 52)),
    (("blue", "uniform"), (48, 78, 140)),
    (("green",), (52, 110, 70)),
    (("red", "maroon"), (140, 40, 44)),
    (("pink",), (214, 140, 160)),
    (("yellow", "mustard"), (200, 160, 50)),
    (("hoodie", "jumper", "sweater"), (96, 100, 120)),
]


def _pick(text: str, table: list[tuple[tuple[str, ...], RGB]]) -> RGB | None:
    low = text.lower()
    for words, colour in table:
        if any(w in low for w in words):
            return colour
    return None


@dataclass(frozen=True)
class Appearance:
    """What the renderer needs to draw a particular patient."""

    age: int = 45
    sex: str = "female"
    skin: RGB = (204, 160, 124)
    hair: RGB = (96, 62, 38)
    hair_length: str = "short"  # bald, short, medium, long
    receding: bool = False
    tied_back: bool = False
    beard: bool = False
    moustache: bool = False
    cap: RGB | None = None  # a prayer cap or hat
    headscarf: RGB | None = None
    glasses: bool = False
    clothing: RGB = (96, 100, 120)
    scarf: RGB | None = None
    seed: int = 0

    @property
    def wrinkles(self) -> float:
        """0 (young) .. 1 (very old)."""
        return min(1.0, max(0.0, (self.age - 35) / 45))


def appearance_from_persona(persona: Any) -> Appearance:
    """Appearance for a `vpatient.persona.schema.Persona` (only identity and presentation are read)."""
    ident = persona.identity
    pres = persona.presentation
    return appearance_from_hints(
        age=int(ident.age),
        sex=str(ident.sex),
        skin_tone=pres.skin_tone,
        hair=pres.hair,
        clothing=pres.clothing,
        notes=pres.notes,
        key=str(getattr(persona, "id", "")),
    )


def appearance_from_hints(
    age: int = 45,
    sex: str = "female",
    skin_tone: str = "",
    hair: str = "",
    clothing: str = "",
    notes: str = "",
    key: str = "",
) -> Appearance:
    seed = zlib.crc32(key.encode()) if key else 0
    sex = sex if sex in ("female", "male", "intersex") else "intersex"
    skin = _pick(skin_tone, SKIN) or (204, 160, 124)
    hair_low = hair.lower()
    # the colour of the hair itself, not of a cap or scarf mentioned in the same hint
    own = ",".join(part for part in hair_low.split(",") if not any(w in part for w in ("cap", "hat", "scarf", "hijab")))
    colour = _pick(own, HAIR_COLOURS)
    if colour is None:
        colour = (165, 162, 158) if age >= 65 else (70, 50, 36) if age >= 40 else (58, 40, 28)
    if "bald" in hair_low:
        length = "bald"
    elif "long" in hair_low:
        length = "long"
    elif "short" in hair_low or "crop" in hair_low:
        length = "short"
    elif "shoulder" in hair_low or "bob" in hair_low or "medium" in hair_low:
        length = "medium"
    else:
        length = "long" if sex == "female" else "short"
    cloth_text = f"{clothing} {notes}".lower()
    scarf: RGB | None = (150, 60, 90) if "scarf" in cloth_text and "head" not in cloth_text else None
    headscarf = None
    if any(w in f"{hair_low} {cloth_text}" for w in ("hijab", "headscarf", "head scarf")):
        headscarf = _pick(hair_low, CLOTHES) or (70, 60, 110)
    return Appearance(
        age=age,
        sex=sex,
        skin=skin,
        hair=colour,
        hair_length=length,
        receding="reced" in hair_low,
        tied_back=any(w in hair_low for w in ("tied", "bun", "ponytail")),
        beard="beard" in hair_low,
        moustache="moustache" in hair_low or "mustache" in hair_low,
        cap=(236, 236, 230) if "cap" in hair_low else None,
        headscarf=headscarf,
        glasses="glasses" in f"{hair_low} {cloth_text}",
        clothing=_pick(clothing, CLOTHES) or (96, 100, 120),
        scarf=scarf,
        seed=seed,
    )
