"""Consultation moves beyond the basic acts: inviting questions, checking understanding, safety-netting,
warning shots, summary openers and plain explanations.

Plain rules, fast and explainable, matched on one utterance (a clause, sentence or turn) at a time.
Context-dependent decisions (does a summary restate what the patient said?) live in summary.py.
"""

from __future__ import annotations

import re

from vpatient.language.acts import sentences

_NOISE = re.compile(r"<[^>]*>|\[(?:unintelligible|inaudible|unclear|crosstalk|laughs?|pause)[^\]]*\]", re.I)
_SPACES = re.compile(r"\s{2,}")
_LEAD = re.compile(
    r"^(?:(?:so|and|okay|ok|right|alright|all right|um+|uh+|erm+|er|ah|mm+|mm-hmm|yeah|yes|no|well|now|fine|"
    r"great|sure|good|oh|ohh)\b[\s,.!?-]*)+",
    re.I,
)


def clean(text: str) -> str:
    """Drop transcription tags (<INAUDIBLE_SPEECH/>, [unintelligible]) and squeeze spaces."""
    return _SPACES.sub(" ", _NOISE.sub(" ", text)).strip()


def strip_fillers(text: str) -> str:
    """'Um, okay, so do you smoke?' -> 'do you smoke?' (for matching by meaning)."""
    stripped = _LEAD.sub("", text.strip())
    return stripped or text.strip()


_INVITES = re.compile(
    r"\b(?:(?:any|have you (?:got )?any|do you have any|got any|are there any|what) (?:other |more |further |"
    r"final "
    r"|last )?questions?\b|"
    r"(?:any|other|further|more)\W+(?:\w+\W+)?quer(?:y|ies)\b|you (?:want|would like|'d like|wanted) to "
    r"ask\b|"
    r"questions? (?:for me|you(?:'d| would)? (?:like|want) to ask|about (?:anything|that|this|what))|"
    r"anything (?:else )?(?:that )?you(?:'d| would)? (?:like|want|wanted|need) (?:me )?to (?:ask|know|"
    r"discuss|talk|go over|"
    r"clarify|mention|raise|explain)|"
    r"anything (?:else )?(?:i can|i could|we can) (?:help|do)|"
    r"(?:feel free|don'?t hesitate|please) (?:to )?ask|ask me anything|"
    r"if you (?:have|'ve got|think of) any (?:other |more |further )?questions|"
    r"(?:is there )?anything (?:else )?(?:you(?:'re| are) (?:unsure|not sure|worried|confused) about|"
    r"(?:on|in) your mind|you(?:'d| would) like to (?:ask|know))|"
    r"what (?:else )?would you like to (?:know|ask))",
    re.I,
)
_CHECKS = re.compile(
    r"\b(?:(?:does|did) (?:that|this|it|all (?:of )?that|everything|what i(?:'ve| have)? (?:said|explained)) "
    r"(?:all )?make sense|makes? sense(?: to you)?\s*\?|(?:is|are) (?:it|that|this|things|everything) making sense|"
    r"(?:is|was) (?:that|this|everything|all (?:of )?that|the plan|the (?:treatment )?plan|what i(?:'ve| "
    r"have)? said) "
    r"(?:all )?(?:clear|understandable)|(?:are|is) (?:you|that|things) clear|"
    r"do you understand|(?:are you )?(?:following|with) me(?: so far)?\s*\?|"
    r"have i explained (?:that|it|this|things|everything) (?:clearly|ok|okay|well|properly)|"
    r"(?:can|could|would) you (?:tell|explain|say|repeat|summari[sz]e) (?:it |that |this )?(?:back )?(?:to "
    r"me )?"
    r"(?:what|in your own words|how)|"
    r"in your own words|what have you (?:understood|taken in|made of)|what(?:'s| is| are) your understanding "
    r"of what|"
    r"how much of (?:that|this|what i(?:'ve)? said) (?:has )?(?:made sense|did you|do you)|"
    r"(?:anything|is there anything) (?:i(?:'ve| have)? said )?(?:that )?(?:you )?(?:didn'?t|don'?t|did not|"
    r"do not) "
    r"(?:understand|follow)|(?:anything|something) (?:that'?s |that is )?(?:unclear|not clear)|"
    r"just to (?:check|make sure) (?:that )?you(?:'ve| have)? (?:understood|got)|"
    r"what do you understand (?:about|from|by) (?:what|that|this|the (?:plan|results?|news|diagnosis)))",
    re.I,
)

# --- safety-netting: a condition or a time, and an instruction to the patient to seek help -----------------
_SN_CONDITION = re.compile(
    r"\b(?:if|should|in case|whenever|as soon as|any time)\b[^.?!]{0,160}?\b(?:worse|worsen\w*|deteriorat\w*|"
    r"not (?:getting |feeling )?(?:any )?better|(?:does|do|did|is|are|has|have)n'?t (?:get(?:ting)? |got |"
    r"gotten )?"
    r"(?:any )?(?:better|improv\w*|settl\w*|go(?:ne)? away|clear\w*|resolv\w*)|no better|persist\w*|"
    r"develop\w*|notice\w*|get any|start\w*|concern\w*|worr\w*|change\w*|new|still|carr(?:y|ies) on|"
    r"continu\w*|"
    r"return\w*|come(?:s)? back|high (?:fever|temperature)|severe|unable|can'?t|struggl\w*|"
    r"any (?:of (?:these|those|that)|problems|issues|other)|not available|(?:is|are)n'?t available|"
    r"(?:suddenly|any) more (?:\w+ )?(?:breathless|pain|blood|bleeding|unwell|sick|tired)|"
    r"not (?:settl|improv|clear|resolv)\w*)",
    re.I,
)
_SN_THINGS_TO_WATCH = re.compile(
    r"\b(?:things|signs|symptoms) (?:to|you (?:should|need to)) (?:look out|watch out|keep an eye)|red "
    r"flags?|"
    r"keep an eye (?:on|out)|look out for",
    re.I,
)
_SN_ACTION = re.compile(
    r"\b(?:give (?:me|us|the (?:surgery|practice|clinic)) a (?:call|ring|bell)|come (?:back|and see|to see|"
    r"in and see|straight back|back in)|see (?:me|us|a doctor|your (?:gp|doctor)|someone|"
    r"the (?:gp|doctor|nurse))|(?:contact|call|ring|phone|speak to|talk to) (?:me|us|the (?:surgery|practice|"
    r"clinic|gp|"
    r"team|ward|nurse)|your (?:gp|doctor|team)|111|999|an ambulance|the out of hours)|(?:contact|call|ring|"
    r"phone|dial) "
    r"(?:111|999)|get in touch|seek (?:\w+ )?(?:help|advice|(?:medical )?attention|care)|"
    r"(?:go|get|head|take (?:yourself|him|her|them)) (?:straight )?(?:to|down to|into|in to) (?:a ?& ?e|a "
    r"and e|the "
    r"(?:hospital|emergency|a&e|walk-in)|"
    r"casualty|urgent care|hospital)|a ?& ?e\b|\ba and e\b|111\b|999\b|(?:emergency|urgent) (?:department|"
    r"care|help)|(?:need|have) to (?:go|come) in(?:to)? (?:hospital|a ?& ?e)|"
    r"(?:contact|call|ring|phone) (?:the |your )?(?:\w+ )?(?:team|surgery|practice|clinic|helpline|line|"
    r"number|service|"
    r"ward)|(?:you can|please|just) (?:call|ring|phone|contact) (?:us|me)|call (?:us|me) back|"
    r"(?:we|i)(?:'d| would)? need to (?:speak to|see|hear from) you|(?:we|i) (?:can|will|'ll|could) see you|"
    r"follow[- ]up (?:appointment|call|review)|be (?:urgently )?seen (?:urgently|today|straight away|by a "
    r"doctor)|"
    r"(?:book|make) (?:an(?:other)?|a|a follow[- ]up) (?:appointment|review)|let (?:me|us) know|"
    r"(?:i(?:'?d| would)|we(?:'?d| would)) (?:like|want) (?:you )?to (?:come|see you)|"
    r"(?:i(?:'ll| will)|we(?:'ll| will)) (?:see|review) you (?:again|back)|"
    r"(?:i|we) (?:want|need) you to (?:come|call|ring|contact|go|seek|get)|"
    r"don'?t hesitate to (?:come|call|contact|get|ring|seek)|see (?:somebody|someone)|"
    r"(?:speak|talk) to you again|take (?:yourself|him|her|them) to|(?:contact|call|ring|phone) them|"
    r"make sure (?:the|your|that) appointment|(?:get|be) seen|don'?t wait (?:for|until|till))",
    re.I,
)
_SN_WHEN = re.compile(
    r"\b(?:today|tonight|tomorrow|this (?:afternoon|evening|morning|week)|in the next (?:few |couple of )?"
    r"(?:\w+ )?(?:minutes|hours?|days?)|within (?:the next )?(?:\w+ )?(?:minutes|hours?|days?)|after "
    r"(?:\w+ )?(?:minutes|hours|days))\b",
    re.I,
)
_SN_URGENT = re.compile(
    r"\b(?:a ?& ?e|a and e|111|999|ambulance|emergency|hospital|urgent(?:ly)?|straight away|right away|today|"
    r"call (?:us|me) back|call us)\b",
    re.I,
)
_SN_TO_PATIENT = re.compile(
    r"\b(?:you (?:need|must|should|can|have|would need|'d need) to|you can|i(?:'d| would) like you to|i want "
    r"you to|please|make sure you|"
    r"take yourself|go (?:straight )?to|call (?:us|me) back|you (?:can )?call)\b",
    re.I,
)
_SN_CLINICIAN_ONLY = re.compile(
    r"\b(?:i(?:'ll| will| can| could)|we(?:'ll| will| can| could)|they(?:'ll| will)|the (?:team|hospital|"
    r"clinic) will) "
    r"(?:\w+ ){0,2}(?:call|ring|phone|contact|let you know|write|send)\b",
    re.I,
)
_SN_TIME = re.compile(
    r"(?:\b(?:you|please|do|to|and|then|just) come back|(?:^|[,;]\s*)come back|\bcome (?:back )?(?:and|to) "
    r"see (?:me|us)|"
    r"\bsee (?:you|me|us) (?:again|back)|\breview you|\bcheck (?:in|on you))\b[^.?!]{0,40}?"
    r"\b(?:in|after|within|next|by|at the end of|a couple of|a few)\b[^.?!]{0,20}?\b(?:days?|weeks?|months?|"
    r"tomorrow|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.I,
)

_WARNING = re.compile(
    r"\b(?:i'?m afraid|i am afraid|unfortunately|sadly|i(?:'m| am) (?:so |very )?sorry to (?:have to )?"
    r"(?:tell|say|inform|share)|"
    r"(?:news|results?|scans?|tests?|biopsy) (?:is|are|was|were|has|have)(?:n'?t| not) (?:\w+ )?(?:good|"
    r"great|normal|clear|"
    r"what|as|come back (?:clear|normal|as))|"
    r"(?:some )?(?:not (?:very |so )?good|bad|difficult|serious|worrying|upsetting|hard|sad) news|"
    r"not (?:the news|the result|what) (?:that )?(?:we|you|i)(?:'d| had| were| was)? (?:been )?(?:hoping|"
    r"hoped|expecting|"
    r"wanted)|(?:more|quite|very|rather) serious than|(?:prepare|brace) yourself|"
    r"(?:shown?|showed|found|revealed|picked up) something (?:serious|worrying|concerning|abnormal|that "
    r"(?:is|was) "
    r"(?:serious|worrying|concerning))|something (?:serious|worrying|concerning)|"
    r"(?:is|are|was|were)n'?t (?:good|great|as good)|not as (?:good|straightforward|simple|reassuring)|"
    r"i wish i had (?:better|good|different) news|(?:don'?t|do not) have (?:good|great|better|the) news|"
    r"(?:isn'?t|is not|wasn'?t|was not|aren'?t|are not|not) (?:the (?:one|result|news|outcome|answer)|what) "
    r"(?:that )?"
    r"(?:you|we|i)(?:'d| had| were| was)? (?:been )?(?:hoping|hoped|expecting|wanted|wanting)|"
    r"(?:we|you|i) (?:were|had been|was) (?:worried|concerned) about|(?:not|isn'?t) (?:entirely )?(?:good|"
    r"straightforward) news|"
    r"(?:is|are|was|were)(?:n'?t| not) (?:as |what )?(?:we|you|i) (?:had )?(?:hoped|expected|wanted)|"
    r"(?:more|quite|rather|very) (?:serious|worrying|concerning)|(?:results?|scan|tests?|biopsy) (?:are|were|"
    r"is|was) "
    r"(?:concerning|worrying|abnormal|serious))",
    re.I,
)
_SUMMARY_MARKER = re.compile(
    r"\b(?:to (?:sum (?:up|it up|things up)|summari[sz]e|recap)|in summary|(?:re-?)?summari[sz](?:e|ing)|"
    r"recap\w*|"
    r"just to (?:check|make sure) (?:that )?i(?:'ve| have) (?:got|understood)|"
    r"(?:let me|can i|could i|i'?ll|i'?d like to|i(?:'m| am) going to|if i (?:can |could |may )?)(?:just )?"
    r"(?:summari[sz]e|recap|go over|run through|go back over|check i)|"
    r"(?<![a-z] )so,? (?:far,? )?you(?:'ve| have|'re| are| were)\b|you(?:'ve| have) (?:mentioned|said|told "
    r"me|described)|so,? (?:you(?:'re| "
    r"are)|you(?:'ve| have)) "
    r"(?:saying|telling me)|what you(?:'re| are| have|'ve) (?:been )?(?:telling|saying|told|said)|"
    r"from what you(?:'ve| have)? (?:told|said|described|mentioned)|you (?:mentioned|said|told me|described|"
    r"explained)|"
    r"so,? (?:we(?:'ve| have)|today we(?:'ve| have)?) (?:talked|discussed|spoken|covered|gone through|been "
    r"through)|"
    r"(?:the )?(?:key|main) (?:points|things)|(?:to )?go over what we(?:'ve| have)? (?:discussed|talked|"
    r"said))",
    re.I,
)
_EXPLANATION = re.compile(
    r"\b(?:(?:it|this|that|which) means|means (?:that|your|the|you)|is (?:when|where) (?:your|the|you)|"
    r"(?:that|this|it)(?:'s| is) (?:when|where|why|how)|happens when|(?:is|are|was) caused by|(?:is|are) "
    r"because|because (?:the|your|it|they|of)|"
    r"the reason (?:is|for|why)|which is why|what(?:'s| is) (?:happening|going on) (?:is|in)|your body|in "
    r"(?:your|the) body|"
    r"works? by|how (?:it|\w+ \w+|\w+) works|(?:help|helps|will help) (?:to |your |you |the )|"
    r"(?:in|put) (?:simple|plain|everyday) (?:terms|words|language)|(?:very |quite )?simply(?: put)?,|"
    r"basically|"
    r"(?:a bit|rather|sort of|kind of|just) like (?:a|an|the|using|when|it)|think of (?:it|the|your) (?:\w+ "
    r")?(?:as|like)|"
    r"(?:we|doctors) call (?:it|this|that)|(?:it'?s|this is|that'?s) (?:something )?(?:called|what doctors "
    r"call)|"
    r"(?:come|comes|came) from|(?:lead|leads|led) to|(?:can|will|may) (?:push|cause|make|stop|bring|lower|"
    r"raise|damage|strain)|"
    r"(?:this|that|the|your) (?:condition|illness|disease|problem|medicine|medication|tablet|treatment|"
    r"insulin|injection|"
    r"test|scan|operation|jab|vaccine)s? (?:is|are|means|helps?|works?|will|can|stops?|keeps?|controls?|"
    r"lowers?|brings?|"
    r"showed|shows)|(?:sugar|blood|heart|lungs?|kidneys?|liver|bones?|brain|nerves?|blood vessels?|airways?|"
    r"stomach|"
    r"tubes?|immune system|germs?|virus(?:es)?|bacteria) (?:is|are|can(?:'t| not)?|(?:does|do)n'?t|gets?|"
    r"becomes?|"
    r"carries|carry|pumps?|work|makes?|tends?|builds?|have been)|(?:is|are) (?:a|an) (?:type|kind|sort|way|"
    r"name) (?:of|for)|"
    r"we call (?:it|this|that)|the options are|fits with|"
    # what a thing does, in everyday verbs ('it stops you releasing an egg', 'makes less acid')
    r"(?:it|this|that|they|which|the \w+(?: tablets?| medicines?| injections?)?) (?:just |also )?(?:stops?|makes?|"
    r"lowers?|keeps?|reduces?|releases?|"
    r"protects?|thins?|opens?|relaxes?|blocks?|kills?|fights?|shrinks?|slows?|replaces?|goes (?:up|down|into|"
    r"through)|carries|pumps?|push(?:es)?|brings?) (?:you|your|the|a|an|less|more|it|them|down|up)\b|"
    r"(?:sugar|pressure|level|count) (?:goes|went|gets|got|drops?|dropped|falls?|fell) (?:too |very )?(?:low|high|"
    r"down|up)\b|"
    r"(?:a|an) (?:thin|small|little|tiny|soft|short) (?:\w+ )?(?:tube|camera|needle|device|rod|operation|"
    r"procedure|test|scan|tablet|injection)\b|so (?:less|more|that you|the|your)\b|(?:that'?s|which is) "
    r"why)",
    re.I,
)
_RESPECT = re.compile(
    r"\b(?:i (?:really |fully |completely |absolutely )?respect (?:that|this|your|those|what)|"
    r"(?:your|the) (?:faith|beliefs?|religion|culture|traditions?|practices?|values|views?) (?:is|are|"
    r"clearly "
    r"(?:is|are)|(?:really|very|so) (?:is|are)) (?:\w+ )?(?:important|valuable|meaningful|respected)|"
    r"(?:i|we) (?:want|would like|'?d like|need) to (?:respect|honou?r|work with|make sure we respect|fit "
    r"(?:around|with)) "
    r"(?:your|that|this|those|what)|(?:respect|honou?r) (?:your|those|these) (?:beliefs?|wishes|faith|values|"
    r"traditions?|"
    r"practices?|choices?|decisions?)|"
    r"(?:thank you|thanks) for (?:telling|sharing|explaining|letting me know|being (?:so )?(?:open|honest))|"
    r"(?:that'?s|that is|it'?s|it is) (?:really |very |so )?(?:important|helpful|useful|good|valuable|"
    r"interesting) "
    r"(?:to know|for me to (?:know|understand)|to (?:hear|understand))|"
    r"many (?:people|patients|of my patients|families) (?:find|feel|do|use|believe|take|choose|pray)|"
    r"(?:we|you) can (?:certainly |definitely |absolutely )?(?:carry on|continue|keep|include|work (?:with|"
    r"around)|"
    r"fit|combine|use) (?:\w+ ){0,3}(?:alongside|together|as well|too|with (?:your|the))|"
    r"(?:it|that|this) makes (?:complete |perfect |a lot of )?sense (?:that|why|to)|"
    r"i can (?:understand|see) (?:why|how|that) (?:\w+ ){0,4}(?:important|matters|means|believe|feel|prefer|"
    r"want)|"
    r"(?:is|are|sounds like|seems) (?:an? )?(?:really |very |so )?(?:important|big|real|great|huge) "
    r"(?:comfort|support|part|"
    r"source|help|thing)|(?:please |do |you can |feel free to )(?:carry on|keep (?:on )?(?:taking|using|"
    r"doing|going)|continue)"
    r"(?: with)? (?:it|that|them|those|your|the))",
    re.I,
)
_BELIEF_DISMISSAL = re.compile(
    r"\b(?:(?:there'?s|there is|has) no (?:scientific |medical |real )?(?:evidence|proof|basis)|"
    r"(?:does|do|did|will|would)(?:n'?t| not) (?:actually |really )?(?:work|help|do anything|cure|make "
    r"(?:any )?difference)"
    r"(?! on| for (?:viruses|a virus|colds?|infections))|"
    r"(?:won'?t|will not|can'?t|cannot) (?:actually |really )?(?:help|work|cure|fix|do anything)|"
    r"waste of (?:time|money)|superstiti\w*|myths?\b|old wives|nonsense|rubbish|silly|ridiculous|mumbo|hocus|"
    r"not real|(?:isn'?t|is not|aren'?t|are not) (?:a )?real|made up|(?:you )?(?:must|need to|have to|"
    r"should) "
    r"(?:stop|forget|give up|ignore)|(?:stop|forget about) (?:\w+ ){0,2}(?:that|those|these|it)|"
    r"(?:just )?(?:listen to|trust) (?:me|the doctor|medicine|science) (?:instead|not)|"
    r"(?:only|just) (?:in|from) your (?:head|mind|imagination)|no such thing)",
    re.I,
)


def invites_questions(text: str) -> bool:
    """'Do you have any questions?', 'Anything you'd like to ask?' (not 'Is that OK?' tags)."""
    return bool(_INVITES.search(text))


_TEACH_BACK = re.compile(
    r"\b(?:(?:can|could|would|will) you (?:just )?(?:tell|explain|say|repeat|summari[sz]e|go over) (?:me )?(?:it |that "
    r"|this |things |everything )?(?:back )?(?:to me )?(?:in your own words|what (?:i|we|you'?ll|you will|"
    r"happens|the plan|'?s going to))|"
    r"in your own words,? (?:what|can|could|tell|how)[^?]*\b(?:i'?ve|i have|we'?ve|we have|i|we) (?:said|told|"
    r"explained|discussed|talked|agreed|covered|gone)|"
    r"what (?:have|did) you (?:understood|understand|taken in|take|taken|made|make|got|get|picked up|pick up) "
    r"(?:of|from|in)\b|what you(?:'ve| have)? (?:taken|understood|got|picked up|gathered|made of)\b)",
    re.I,
)


def checks_understanding(text: str) -> bool:
    """'Does that make sense?', 'Can you tell me in your own words what we've agreed?'"""
    return bool(_CHECKS.search(text)) or asks_teach_back(text)


def asks_teach_back(text: str) -> bool:
    """The patient is asked to say back what it has been told ('Could you tell me what you've taken from it?',
    'In your own words, what have we agreed?'): teach-back, one way of checking understanding."""
    return bool(_TEACH_BACK.search(text))


def safety_netting(text: str) -> bool:
    """Tells the patient when or under what conditions to come back or seek help.

    Looks at each sentence together with the one before it: a condition ('if it gets worse'), a time
    ('in a week') or a list of things to look out for, plus an instruction to the patient (come back, call
    111, go to A&E). The clinician's own actions ('I'll call you with the results', 'I'll book a scan')
    do not count.
    """
    return safety_net_sentence(text) is not None


def safety_net_sentence(text: str) -> str | None:
    """The sentence (with the one before it when that holds the condition) that safety-nets, or None."""
    sents = sentences(clean(text))
    for i, sent in enumerate(sents):
        window = " ".join(sents[max(0, i - 1) : i + 1])
        if _SN_TIME.search(sent):
            return sent
        action = _SN_ACTION.search(sent)
        if not action:
            continue
        if _SN_CLINICIAN_ONLY.search(sent) and not re.search(
            r"\b(?:you|please)\b[^.?!]{0,30}\b(?:come|call|contact|ring|go|seek|get)\b", sent, re.I
        ):
            continue
        if _SN_CONDITION.search(sent) or _SN_THINGS_TO_WATCH.search(sent):
            return sent
        if _SN_CONDITION.search(window) or _SN_THINGS_TO_WATCH.search(window):
            return window
        if _SN_URGENT.search(action.group(0)) and re.search(r"\bif\b", window, re.I):
            return window  # any condition will do when the advice is to seek urgent care
        if _SN_WHEN.search(window) and _SN_TO_PATIENT.search(sent):
            return window  # telling the patient when to get in touch or be seen ('ring them this afternoon')
        if _SN_URGENT.search(sent) and _SN_TO_PATIENT.search(sent):
            return sent  # an instruction to seek help now ('take yourself to A&E'), conditional or not
    return None


def warning_shot(text: str) -> bool:
    """A preface that prepares the patient for bad news ('I'm afraid the results are not what we hoped')."""
    return bool(_WARNING.search(text))


def summary_marker(text: str) -> bool:
    """Words that open a summary ('just to recap', 'so you've had...', 'you mentioned...')."""
    return bool(_SUMMARY_MARKER.search(text))


def summary_marker_span(text: str) -> tuple[int, int] | None:
    m = _SUMMARY_MARKER.search(text)
    return (m.start(), m.end()) if m else None


def is_explanation(text: str) -> bool:
    """An explanation of what is going on or what a treatment does ('it means your body can't...')."""
    return bool(_EXPLANATION.search(text))


def is_respectful(text: str) -> bool:
    """A respectful acknowledgement of the patient's beliefs or practices ('I respect that', 'thank you for
    telling me', 'many people find that helpful')."""
    return bool(_RESPECT.search(text))


def dismisses_belief(text: str) -> bool:
    """Ridicules or dismisses a belief or practice ('that's nonsense', 'herbs won't do anything')."""
    return bool(_BELIEF_DISMISSAL.search(text))


_GREETS = re.compile(
    r"\b(?:hello|hi|hiya|hey|good (?:morning|afternoon|evening|day)|(?<![a-z] )(?:morning|afternoon)|welcome|"
    r"(?:as-?|a)?salaa?m(?:u)?(?: ?[ao]?(?:lai|lay)kum)?|namaste|"
    r"(?:nice|pleased|lovely|good) to (?:meet|see) you|thanks? (?:you )?for (?:coming|waiting|joining))\b",
    re.I,
)
_ROLE = (
    r"doctors?|gps?|general practitioners?|registrars?|consultants?|nurses?|(?:medical )?students?|student "
    r"doctors?|"
    r"physicians?|clinicians?|house officers?|junior doctors?|f[y]?[12]s?|sho|trainees?|specialists?|"
    r"practitioners?|"
    r"surgeons?|oncologists?|pharmacists?|midwi(?:fe|ves)|paramedics?|members? of the (?:\w+ )?team"
)
_INTRODUCES = re.compile(
    r"\b(?:my name is|my name'?s|i'?m called|you can call me)\s+\w+|"
    r"\b(?:i'?m|i am|it'?s|this is)\s+(?:(?:uh|um|er)\s+)?(?:dr\.?|doctor)\b|"
    rf"\b(?:i'?m|i am|i work as)\s+(?:one of (?:the|your)|a|an|the|your)\s+(?:\w+\s+){{0,2}}(?:{_ROLE})\b|"
    r"\b(?:dr\.?|doctor)\s+\w+\s+(?:here|speaking)\b",
    re.I,
)
_NAMED = re.compile(r"\bI(?:'?m| am) ([A-Z][a-z]+)\b")
_NOT_NAMES = frozenset(
    re.findall(
        r"\S+",
        """
    Sorry Just Going Afraid Not So Here Fine Good Okay Ok Sure Glad Happy Dr Doctor Really Very Also
    Still Now Always Calling Ringing Pleased Delighted Concerned Worried Aware Looking Trying Wondering
    Thinking Hoping Able Unable Gonna Getting Having Doing Well Right Sat Afraid Here There Back
    """,
    )
)


def greets(text: str) -> bool:
    """A greeting ('hello', 'good morning', 'nice to meet you')."""
    return bool(_GREETS.search(text))


def introduces_self(text: str) -> bool:
    """The speaker gives their own name or role ('I'm Dr Shah', 'I'm one of the GPs', 'my name is Sam')."""
    if _INTRODUCES.search(text):
        return True
    return any(m.group(1) not in _NOT_NAMES for m in _NAMED.finditer(text))


_FILLERS = r"^(?:(?:so|and|okay|ok|right|alright|um+|uh+|erm+|er|well|now|also|then|just|but)[,\s]+)*"
_INVERTED = re.compile(
    _FILLERS + r"(?:(?:(?:how|what|when|where|whereabouts|which|who|whom|whose|why)\s+(?:\w+\s+)?)?"
    r"(?:do|does|did|have|has|had|are|is|was|were|can|could|would|will|should|may|might)(?:n't| not)?\s+"
    r"(?:you|your|it|they|he|she|we|i|this|that|these|those|the|there|anyone|anybody|anything|any|my|his|her|"
    r"their|its)\b"
    r"|(?:any|anything|anyone|anybody)\b)",
    re.I,
)
_IMPERATIVE = re.compile(
    _FILLERS + r"(?:tell me|describe|talk me through|explain|walk me through|could you|can you|would you|let me ask|"
    r"i'd like to ask|may i ask)\b",
    re.I,
)


WOULD_LIKE = r"i(?:'d| would)(?: really)? "
TO_HEAR = r"be (?:really |very )?interested to (?:know|hear)|love to (?:know|hear)"
TO_ASK = r"like to (?:understand|know|hear|check|ask)"
"""The polite frame of an indirect question ("I'd be interested to know...", "I'd like to understand how..."):
WOULD_LIKE, then TO_HEAR, or TO_ASK (which asks only with a question word after it)."""
_REQUEST = re.compile(
    _FILLERS + r"(?:if you (?:could|can|would|don't mind) (?:just |please )?"
    r"(?:tell|let me know|describe|explain|give|confirm)|"
    r"(?:please|just) (?:tell|let me know|describe|confirm)|i(?:'d| would) like you to (?:tell|describe|"
    r"explain)|"
    r"(?:regarding|in terms of|with regards? to|moving on to|on to|what about|how about|as for)\b(?!.*\b(?:i "
    r"think|i'll|we'll|you should|you can|you need)\b)|"
    r"(?:(?:the|a|my) )?(?:last|final|next|few|couple of|some|other) (?:\w+ ){0,3}questions?\b|"
    r"(?:sorry,? )?i(?: was|'m| am)? (?:just )?(?:asking|wondering|wondered|wanted to know|want to know|meant) "
    r"(?:whether|if|how|what|when|where|why|who|about)\b|"
    rf"{WOULD_LIKE}(?:{TO_HEAR}|{TO_ASK}(?: \w+){{0,3}}? (?:whether|if|how|what|when|where|why|who|about))\b)\b",
    re.I,
)


def is_asking(clause: str) -> bool:
    """A question or a request to tell, stricter than acts.is_question for transcribed speech: a clause that
    ends with a full stop counts only when its word order asks ('When did it start.') or it is a request
    ('Tell me about your family.'), so 'When they start eating you give soft food.' is a statement."""
    c = clause.strip()
    if c.endswith("?") or _REQUEST.match(c):
        return True
    from vpatient.language.acts import is_question

    if not is_question(c):
        return False
    if c[-1:] in ".!":
        return bool(_INVERTED.match(c) or _IMPERATIVE.match(c))
    return True
