"""The patient's words that are not facts: stock lines and lines made from the persona's identity and culture.

One place for them, so that the engine says them and the grounding check (grounding.py) knows they claim
nothing beyond the persona file.
"""

from __future__ import annotations

from vpatient.persona.schema import Persona

HURT_ANGRY = "Hang on, doctor. There's no need to talk to me like that."
HURT = "Oh. Right. Okay."
BLUNT = "Is that it? You've just told me that and now I'm supposed to go?"
NO_WARNING = "You could have warned me."
UNDERSTOOD = "Right, I see. That makes sense."
UNDERSTOOD_SHORT = "Right, I see."
SERIOUS = "Right... is it serious, doctor?"
WHAT_INVOLVES = "What would that involve, doctor?"
RELUCTANT = "I suppose so."
STUNNED = "Okay. I don't really know what to think yet."
RELIEF = "Oh... okay."
SLOWLY = "Sorry, doctor, slowly please. My English is not so good."
NOT_TOO_BAD = "Not too bad, thanks."
AS_I_SAID = "As I said,"
NOT_QUIET = "Not quite."

LINES = [
    HURT_ANGRY,
    HURT,
    BLUNT,
    NO_WARNING,
    UNDERSTOOD,
    UNDERSTOOD_SHORT,
    SERIOUS,
    WHAT_INVOLVES,
    RELUCTANT,
    STUNNED,
    RELIEF,
    SLOWLY,
    NOT_TOO_BAD,
    "Sorry, what do you mean exactly?",
    "I think that's everything, really.",
    "Okay.",
    "Hello, doctor.",
    "Thank you, doctor.",
    "Thank you.",
    "Thank you, doctor. Bye.",
    "Sorry, doctor?",
    "No, I think that's everything, thanks.",
    "Yes, I think so.",
    "Yes, that's right.",
    "Mm.",
    "Yes, please.",
]


def language_name(persona: Persona) -> str:
    return persona.culture.first_language.split("(")[0].strip()


def wants_interpreter(persona: Persona) -> str:
    return f"Yes, please. {language_name(persona)} would be better for me."


def no_interpreter() -> str:
    return "No, English is fine, thank you."


def first_language(persona: Persona) -> str:
    return f"My first language is {language_name(persona)}."


def call_me(persona: Persona) -> str:
    ident = persona.identity
    return f"{ident.preferred_name or ident.name.split()[0]} is fine."


def age(persona: Persona) -> str:
    return f"I'm {persona.identity.age}."


def name_and_dob(persona: Persona) -> str:
    return f"{persona.identity.name}, {persona.identity.date_of_birth}."


def dob(persona: Persona) -> str:
    return f"It's {persona.identity.date_of_birth}."


def name(persona: Persona) -> str:
    return f"{persona.identity.name}."


def occupation(persona: Persona) -> str:
    return f"{persona.identity.occupation}."


def pronouns(persona: Persona) -> str:
    return f"{persona.identity.pronouns}."


def persona_lines(persona: Persona) -> list[str]:
    """Every line above as this persona says it."""
    out = [
        wants_interpreter(persona),
        no_interpreter(),
        first_language(persona),
        call_me(persona),
        age(persona),
        name(persona),
    ]
    if persona.identity.date_of_birth:
        out += [name_and_dob(persona), dob(persona)]
    if persona.identity.occupation:
        out.append(occupation(persona))
    if persona.identity.pronouns:
        out.append(pronouns(persona))
    return out
