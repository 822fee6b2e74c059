"""A small lexicon of symptoms, grouped into concepts, to tell whether a question asks about a symptom the
patient had not already raised ("Any fever?" after the patient spoke only of diarrhoea)."""

from __future__ import annotations

import re

SYMPTOMS: dict[str, str] = {
    # concept -> regex (lower case, applied case-insensitively)
    "fever": r"fevers?|feverish|temperatures?|high temp|hot and cold|shiver\w*|chills?|rigou?rs|sweat\w*",
    "vomiting": r"vomit\w*|being sick|been sick|throw(?:ing|n)? up|threw up|"
    r"bring(?:ing)? (?:your )?food (?:back )?up",
    "nausea": r"nause\w*|queasy|feel(?:ing)? sick",
    "bleeding": r"blood(?! (?:pressure|tests?|sugars?|results?|thinners?|levels?|count|group|type|form))|"
    r"bleed\w*|"
    r"black (?:stools?|poo)|tarry",
    "weight": r"weight|lost (?:any )?(?:\w+ )?weight|losing weight|clothes (?:feel )?(?:looser|loose)",
    "appetite": r"appetite|off (?:your|their|his|her) food|eating (?:less|more)",
    "cough": r"cough\w*|phlegm|sputum",
    "breathing": r"breath\w*|wheez\w*|winded",
    "chest_pain": r"chest pain|pain (?:in|across) (?:your|the) chest|chest (?:tight\w*|discomfort)",
    "palpitations": r"palpitations?|heart (?:racing|pounding|fluttering)|racing heart|skipped beats?",
    "headache": r"headaches?|head ?aches?|pain in (?:your|the) head",
    "dizziness": r"dizz\w*|light[- ]?headed\w*|faint\w*|black(?:ed)? ?outs?|pass(?:ed|ing)? out|vertigo|"
    r"room spinning",
    "rash": r"rash\w*|spots|skin (?:changes|problems)|hives",
    "urinary": r"urin\w*|(?:the )?waterworks|wee(?:ing)?\b|pee(?:ing)?\b|passing water|burning when|"
    r"stinging when",
    "bowels": r"bowels?|stools?|poo\w*|motions|diarrh\w*|constipat\w*|opening your bowels",
    "abdominal_pain": r"tumm(?:y|ies)|stomach (?:pain|ache)|abdom\w*|belly",
    "vision": r"vision|eyesight|blurr\w*|double vision|seeing|bright lights?|photophob\w*",
    "neurological": r"numb\w*|tingl\w*|pins and needles|weakness|weak (?:arms?|legs?)|speech|slurr\w*|"
    r"balance|"
    r"co-?ordination|fits\b|a fit\b|seizures?|confus\w*",
    "swelling": r"swell\w*|swollen|lumps?|bumps?",
    "fatigue": r"tired\w*|fatigue\w*|energy|letharg\w*|exhaust\w*",
    "throat": r"sore throat|throat",
    "nose": r"runny nose|blocked nose|congest\w*|sneez\w*|stuffy",
    "ears": r"ears?|earache|hearing",
    "aches": r"joints?|muscles?|aches?|aching",
    "mood": r"mood|low in mood|depress\w*|anxi\w*|down in the dumps|feeling down",
    "sleep": r"sleep\w*|insomnia",
    "itch": r"itch\w*",
    "discharge": r"discharge|pus",
    "jaundice": r"yellow\w*|jaundice\w*",
    "neck": r"stiff neck|neck (?:stiff\w*|pain)",
    "swallowing": r"swallow\w*",
    "thirst": r"thirst\w*|drinking (?:a lot|more)",
}

_COMPILED = {concept: re.compile(r"\b(?:" + pattern + r")", re.I) for concept, pattern in SYMPTOMS.items()}


def symptom_concepts(text: str) -> set[str]:
    """The symptom concepts mentioned in `text` (e.g. {'fever', 'vomiting'})."""
    return {concept for concept, rx in _COMPILED.items() if rx.search(text)}


def first_symptom_mention(text: str, concept: str) -> str | None:
    m = _COMPILED[concept].search(text)
    return m.group(0) if m else None
