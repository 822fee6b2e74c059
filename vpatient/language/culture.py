"""Culture in a consultation: stereotyping statements, and patient talk about beliefs and practices."""

from __future__ import annotations

import re

_GROUPS = (
    r"muslims?|hindus?|sikhs?|jews?|jewish|christians?|catholics?|buddhists?|asians?|south asians?|africans?|"
    r"indians?|pakistanis?|bangladeshis?|chinese|japanese|koreans?|vietnamese|filipinos?|arabs?|somalis?|"
    r"nigerians?|"
    r"ghanaians?|caribbeans?|jamaicans?|polish|poles|romanians?|eastern europeans?|latin(?:o|a|os|as|x)|"
    r"hispanics?|"
    r"mexicans?|travell?ers?|gypsies|roma|immigrants?|migrants?|refugees?|asylum seekers?|foreigners?|"
    r"turkish|kurdish|iranians?|afghans?|syrians?|iraqis?|eritreans?|ethiopians?|sudanese|tamils?|gujaratis?|"
    r"punjabis?|bengalis?|(?:jehovah'?s )?witnesses|mormons?|orthodox|italians?|spanish|spaniards?|portuguese|"
    r"greeks?|french|germans?|irish|scots|scottish|russians?|ukrainians?|lithuanians?|latvians?|bulgarians?|"
    r"albanians?|brazilians?|colombians?|cubans?|thai|malaysians?|indonesians?|kenyans?|ugandans?|congolese|"
    r"zimbabweans?|egyptians?|moroccans?|algerians?|lebanese|yemenis?|kurds?|middle eastern|west african|"
    r"east african|african caribbean|black african|arabic"
)
_PEOPLE = (
    r"people|patients|women|men|families|folk|folks|communities|community|cultures?|"
    r"mothers|fathers|parents|ones|ladies|guys|lads|girls|boys|mums|dads|grannies|kids|elders|households"
)
_GENERAL = (
    r"always|usually|often|tend to|tends to|never|all|typically|generally|normally|mostly|don'?t|do not|"
    r"won'?t|"
    r"will not|can'?t|are|have|like|love|prefer|believe|refuse|eat|drink|fast|think|get|do|would|wouldn'?t"
)
_STEREO = re.compile(
    r"\b(?:people|patients|women|men|folk|folks) like (?:you|yourself)\b|"
    r"\b(?:you|your) (?:people|lot|kind|sort|type|guys)\b(?! of)(?! (?:alright|all right|ok|okay)\b)|"
    r"\b(?:you|your) (?:" + _GROUPS + r")\b|"
    rf"\b(?:{_PEOPLE}) (?:from|of|in) (?:your|that|this|their|those) (?:culture|country|community|background|"
    rf"religion|"
    rf"part of the world|ethnicity|race|faith|region|group|origin|"
    rf"heritage)s?\b[^.?!]{{0,40}}\b(?:{_GENERAL})\b|"
    rf"\b(?:in|from) your (?:culture|religion|country|community|tradition|background|faith)s?,? "
    rf"(?:you|people|they|everyone|everybody|women|men|families)(?: all)? (?:{_GENERAL})\b"
    r"(?! (?:like|prefer|want|need|wish)\b)|"
    rf"\b(?:{_GROUPS}) (?:{_PEOPLE})? ?(?:always|usually|often|tend to|never|all|typically|generally|don'?t|"
    rf"do not|"
    rf"won'?t|are (?:always|usually|often|very|so|known|more|less|not)|are all|like to|love|refuse|can'?t)\b|"
    rf"\b(?:all|most|typical|like (?:most|all|many|other)|you know how) (?:{_GROUPS})(?: {_PEOPLE})?\b|"
    rf"\b(?:black|white|brown|ethnic|minority|religious|foreign) (?:{_PEOPLE}) (?:always|usually|often|tend "
    rf"to|never|"
    rf"all|typically|generally|don'?t|do not|won'?t|are (?:always|usually|often|very|so|known|more|less|not)|"
    rf"like to)\b|"
    r"\b(?:i (?:assume|suppose|expect|imagine|presume|take it|guess)|presumably|i'?m guessing|no doubt|"
    r"obviously|"
    r"of course),? [^.?!]{0,60}?\b(?:because|since|as|being) (?:you'?re |you are |you come from |you'?re "
    r"from )?(?:a |an )?"
    rf"(?:{_GROUPS}|from (?:abroad|there|that)|religious|foreign)\b|"
    r"\b(?:because|since|as|being) (?:you'?re|you are|you come from|you'?re from) (?:a |an )?"
    rf"(?:{_GROUPS})\b[^.?!]{{0,60}}\b(?:you(?:'ll|'d| will| would| must| probably| don'?t| won'?t| can'?t)|"
    r"i (?:assume|suppose|expect|imagine|presume|guess))\b|"
    r"\b(?:your|the) (?:culture|religion|community|family|people) (?:won'?t|doesn'?t|don'?t|wouldn'?t|never) "
    r"(?:let|allow|like|accept|want)\b|"
    r"\btypical (?:of|for) (?:you|your|people (?:like|from))\b|"
    rf"\b(?:common|typical|usual|normal|normal thing) (?:in|for|among|with) (?:{_GROUPS})(?: {_PEOPLE})?\b|"
    r"\byou all (?:eat|do|have|like|love|drink|think|believe|tend|want|prefer|use|take)\b|"
    r"\b(?:that'?s|it'?s|this is) (?:a |very |so )?(?:typical(?:ly)?|common) (?:\w+ )?(?:in|for|with|among) "
    r"(?:your|you) (?:people|lot|culture|community|religion|kind)\b|"
    # 'a lot of Pakistani ladies don't...', 'Somali patients quite often...', 'Italian families always...'
    rf"\b(?:a lot of|lots of|many|most|all|so many|loads of)?\s?(?:{_GROUPS}) (?:{_PEOPLE}) "
    r"(?:(?:quite|very|really|so) )?"
    rf"(?:always|usually|often|never|tend to|typically|generally|normally|mostly|don'?t|do not|won'?t|can'?t|"
    r"rarely|hardly|all)\b|"
    # 'Italians and their pasta', 'the traditional Chinese diet'
    rf"\b(?:{_GROUPS}) and their\b|\b(?:traditional|typical) (?:{_GROUPS}) (?:diet|food|cooking|families|family|"
    r"way|men|women|household)\b|"
    # 'your community cooks very rich', 'your people eat...'
    r"\byour (?:community|culture|people|lot|kind) (?:cooks?|eats?|drinks?|likes?|loves?|believes?|thinks?|"
    r"does|do|always|never|usually|tends?)\b|"
    # 'as with most Witnesses, you will...', 'like all Muslims'
    rf"\b(?:as (?:with|is the case with|for) (?:most|all|many)|like (?:most|all|many|every)) (?:of )?(?:your |the )?"
    rf"(?:{_GROUPS})\b|"
    # 'in the Travelling community ye don't...', 'among your people they...'
    rf"\b(?:in|among) (?:the|your) (?:\w+ ){{0,2}}(?:community|culture|religion|faith|country),? (?:you|ye|people|"
    rf"they|everyone|everybody|folk|women|men)(?: all)? (?:really )?(?:{_GENERAL})\b",
    re.I,
)
# 'Everyone from Poland wants antibiotics': a whole country's people (a capitalised place) said to do something
_FROM_PLACE = re.compile(
    r"\b(?:[Ee]veryone|[Ee]verybody|[Aa]ll (?:the )?(?:people|patients)|[Mm]ost (?:people|patients)|[Pp]eople|"
    r"[Tt]hey all|[Yy]ou all) (?:from|in|back in) (?!the\b|my\b|your\b|here\b|there\b|England\b|Britain\b|Scotland\b|"
    r"Wales\b|UK\b)[A-Z][a-z]+\b[^.?!]{0,30}?"
    r"\b(?:always|usually|often|never|all|want|wants|like|likes|love|loves|expect|expects|think|thinks|believe|"
    r"believes|don'?t|doesn'?t|are|eat|eats|drink|drinks|take|takes|ask|asks)\b"
)

_BELIEF_TALK = re.compile(
    r"\b(?:pray\w*|god|allah|faith|religio\w*|church|mosque|temple|gurdwara|synagogue|imam|priest|pastor|"
    r"tradition\w*|cultur\w*|herb\w*|remed\w*|healer\w*|shaman|fast(?:ing|s)?|ramadan|lent|ayurved\w*|"
    r"spirit\w*|"
    r"evil eye|black magic|witch\w*|curse\w*|karma|punish\w*|sin\b|hot and cold|natural (?:medicine|things|"
    r"ways?)|"
    r"ginger|turmeric|garlic|bitter (?:leaf|melon|gourd)|teas?\b|back home|in my (?:country|village|culture|"
    r"family)|"
    r"we believe|my (?:grand)?(?:mother|father|mum|dad|family|elders|community) (?:says?|said|believes?|"
    r"thinks?)|"
    r"halal|kosher|vegetarian|pork|gelatine?|blessing|holy|amulet|charm|acupunctur\w*|chinese medicine|"
    r"cupping|"
    r"olive oil|oils?|massage|honey|lemon|poultice|rub(?:bing)?|should (?:he|i|she|we) stop|"
    r"jehovah\w*|witness|transfusions?|blood products|vaccin\w*|jabs?|mmr|autism|heat\w*|cold "
    r"(?:food|wind|air)|"
    r"people (?:say|said|believe|told me)|they say|"
    r"heard (?:that|it)|"
    r"read (?:that|online)|(?:is|was) (?:done|different) (?:back home|at home|in my country)|"
    r"energy|balance|qi\b|chi\b|yin|yang|fate|destiny|will of god|god'?s will|diet)\b",
    re.I,
)


def is_stereotyping(text: str) -> bool:
    """An assumption or generalisation about the patient from ethnicity, religion, nationality or culture
    ('people like you usually...', 'in your culture you don't...', 'I assume, as you're Muslim, ...')."""
    return bool(_STEREO.search(text) or _FROM_PLACE.search(text))


def stereotype_span(text: str) -> str | None:
    m = _STEREO.search(text) or _FROM_PLACE.search(text)
    return m.group(0) if m else None


_ELSEWHERE = re.compile(
    r"\b(?:[Ii]n|[Bb]ack in|[Oo]ver in|[Ww]here I come from,?|[Ii]n my country,?) (?!(?:January|February|March|April|"
    r"May|June|July|August|September|October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|"
    r"Sunday|England|Britain|Scotland|Wales|London|Ramadan|A&E)\b)[A-Z][a-z]{3,},? (?:the |a |my |our |we |they |"
    r"people|doctors?|everyone|everybody|you )"
)
"""What is done in another country ('In Poland the doctor gives antibiotic straight away')."""


def mentions_belief(text: str) -> bool:
    """Talk of faith, tradition, remedies, healers, fasting or diet (typically the patient's), or of what is done
    in another country."""
    return bool(_BELIEF_TALK.search(text) or _ELSEWHERE.search(text))
