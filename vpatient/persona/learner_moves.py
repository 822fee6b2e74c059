"""What the learner is doing in one turn: the moves a patient responds to, not only the topics asked about.

`read_turn()` splits a learner turn into clauses and names its moves: greeting and introduction, identity
questions, asking permission, small talk, open invitations, fact questions, follow-ups, clarification
requests, empathy and acknowledgement, summaries, explanations, plans and offers, safety-netting, checks of
understanding, invitations to ask, the language and the interpreter, closing, thanks, and the turn's
manner (jargon, dismissal, interruption). Fillers, backchannels and unintelligible fragments are moves too
(`noise`), never questions.

Plain rules, fast and explainable, shared vocabulary with the grader (vpatient.language). The engine
decides what to say; this module only reads the learner.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from enum import StrEnum

from vpatient.language import acts, moves
from vpatient.language.colloquial import spelt_out
from vpatient.language.words import content_words


class Move(StrEnum):
    noise = "noise"
    """Fillers, backchannels ('mm-hmm', 'right'), '[unintelligible]': nothing to answer."""
    greeting = "greeting"
    introduction = "introduction"
    identity = "identity"
    """Asks for the patient's name, age, date of birth, pronouns or what to call them."""
    permission = "permission"
    """'Is it OK if I ask you a few questions?', 'Do you mind if I examine you?'."""
    small_talk = "small_talk"
    """The weather, the traffic, the journey, 'how are you today?'."""
    open_invitation = "open_invitation"
    question = "question"
    clarification = "clarification"
    """The learner asks the patient to repeat or explain what it said ('sorry, what do you mean?')."""
    empathy = "empathy"
    acknowledgement = "acknowledgement"
    invitation_to_talk = "invitation_to_talk"
    """'Take your time', 'I'm listening', 'tell me how you're feeling': earns rapport."""
    summary = "summary"
    explanation = "explanation"
    plan = "plan"
    safety_net = "safety_net"
    check_understanding = "check_understanding"
    invite_questions = "invite_questions"
    language = "language"
    """Asks about language preference or offers an interpreter."""
    closing = "closing"
    thanks = "thanks"
    dismissal = "dismissal"
    reassurance = "reassurance"
    advice = "advice"
    """'You must break the fast if...', 'make sure you drink plenty': advice to the patient that asks nothing."""
    tag = "tag"
    """'Is that OK?', 'Alright?' after a plan or an explanation: asks for agreement, not a question of fact."""


EARNING = frozenset({Move.empathy, Move.invitation_to_talk})
"""Moves that earn rapport-tier disclosure (with acknowledgement of feelings, counted as empathy)."""

_BACKCHANNEL = re.compile(
    r"^(?:(?:um+|uh+|erm+|er|ah+|mm+|mhm|mm-hmm|uh-huh|hmm+|okay|ok|right|alright|all right|yeah|yes|yep|sure|"
    r"i see|great|good|fine|lovely|perfect|oh|ohh|so|and|well|cool|got it|gotcha|thanks|thank you|no|"
    r"okay then|fair enough|sorry)[\s,.!?-]*)+$",
    re.I,
)
_UNINTELLIGIBLE = re.compile(r"\[(?:unintelligible|inaudible|unclear|crosstalk)[^\]]*\]|<[^>]*>", re.I)
_PERMISSION = re.compile(
    r"\b(?:is it (?:ok|okay|alright|all right|fine)|would it be (?:ok|okay|alright|all right|fine)|"
    r"(?:do|would) you mind|are you (?:happy|ok|okay|alright|all right|comfortable)|(?:would|will) you be happy|"
    r"happy for me|may i|can i|could i|am i ok to|mind if i|(?:ok|okay|alright|fine) (?:for|with) you(?: if)?)\b"
    r"[^.?!]{0,40}?\b(?:ask|go through|take|examine|have "
    r"a (?:look|chat|quick)|talk|start|chat|record|sit|begin|run through|check|go over|discuss|speak)\b",
    re.I,
)
_OFFER = re.compile(
    r"(?:^|\b)(?:(?:ok|okay|alright|all right|fine) (?:if (?:i|we)|for me to|with you if)|if (?:that'?s|that is|it'?s) "
    r"(?:ok|okay|alright|all right|fine)|(?:is|would) (?:that|it) be (?:ok|okay|alright|all right|fine)|shall (?:we|i)|"
    r"would you like (?:me|us|that|i|we|someone|him|her|to (?:come|wait|sit|have|bring|go|start|meet|see))|"
    r"do you want (?:me|us) to|would (?:that|it|this) help|mind if (?:i|we)|can we|could we|"
    r"would you be (?:ok|okay|alright|all right|happy) (?:if|with|for))\b",
    re.I,
)
"""A yes/no proposal of the learner's ("Shall we meet next week?", "...if that's alright?"): a patient says
yes, or hesitates; never "I don't know"."""
_CHOICE_OR_WH = re.compile(
    r"\bor\b(?! (?:anything|something|not|so|two)\b)|^(?:\W*(?:and|so|but|okay|ok|right|um|well)\b)*\W*"
    r"(?:what|how|when|where|which|who|why)(?: (?:much|many|long|often|soon|far))? (?:would|do|does|did|"
    r"shall|should|can|could|will|is|are|was|were)\b",
    re.I,
)
_PROPOSAL_START = re.compile(
    r"^(?:\W*(?:and|so|okay|ok|right|um|well|now)\b)*\W*(?:would you like|shall (?:we|i)|do you want (?:me|us) to|"
    r"can we|could we)\b",
    re.I,
)
"""An offer that is a choice ("wait for him, or shall I explain now?") or a wh-question is not a yes/no."""
_EMBEDDED_Q = re.compile(
    r"\b(?:do|did|have|are|were|can|could|does|is|has) (?:you|it|there|he|she|they|your)\b|\b(?:how|what|when|where|"
    r"why|which|who) (?:do|did|is|are|was|were|does|have|has|long|often|much|many)\b",
    re.I,
)
_TAG_Q = re.compile(
    r"^(?:is|isn'?t|aren'?t|don'?t|doesn'?t|didn'?t|won'?t|wasn'?t|weren'?t|haven'?t|hasn'?t|can'?t|right|yeah|eh|"
    r"no|ok|okay)\b(?:\s+\w+){0,2}$",
    re.I,
)
_ANY_LIST = re.compile(r"^(?:(?:and|so|okay|ok|right)\s+)?(?:any|do you have any|have you (?:had|got) any)\b", re.I)
_Q_WORD = re.compile(
    r"^(?:(?:and|or|also)\s+)?(?:any|how|what|when|where|which|who|why|do|does|did|have|has|are|is|was|were|can|"
    r"could|would)\b",
    re.I,
)
_LIST_SPLIT = re.compile(r",\s*(?:(?:or|and)\s+)?")
_PREFACE = re.compile(
    r"^(?:(?:so|and|okay|ok|right|sorry)\s+)*(?:(?:can|could) you |let me )?(?:just )?(?:remind me|(?:ask|check) "
    r"(?:again|quickly)|tell me again|quickly|one more thing|going back|(?:just )?to (?:check|clarify)|"
    r"while i remember|before i forget)$",
    re.I,
)
"""'Sorry, just remind me, when did it start?': a preface to the question, not a question of its own."""
_OR_SPLIT = re.compile(r",\s+or\s+(?=(?:\w+\s+){1,}\w+)", re.I)
_YES_NO_START = re.compile(
    r"^(?:\W*(?:and|so|okay|ok|right|um|also|now)\b)*\W*(?:have you|do you|did you|are you|were you|has there|"
    r"is there|was there|any)\b",
    re.I,
)
_INFO = re.compile(
    r"\b(?:results?|scans?|tests?|biopsy|x-?ray|shows?|showed|found|means?|cancer|tumou?r|growth|mass|spread|"
    r"treatment|options?|diagnos\w*|condition|disease|sounds like|looks like|consistent with|(?:is|was) (?:a|an) "
    r"\w+|heart|lungs?|kidneys?|liver|blood|baby|pregnan\w*|scan)\b",
    re.I,
)
_RESTATE = re.compile(r"\byou(?:'ve| have)? (?:said|mentioned|told me|been)\b", re.I)
_DIAGNOSIS = re.compile(
    r"^(?:\W*(?:so|and|well|okay|ok|right)\b)*\W*(?:probably|most likely|almost certainly) "
    r"(?!not\b|yes\b|no\b)(?:a |an |just )?\w+|"
    r"\b(?:sounds like|looks like|(?:it|this|that) (?:is|could be|might be|may be|seems to be) (?:a |an )?"
    r"(?:\w+ ){0,2}(?:called|condition|infection|depression|angina|disease|problem|syndrome|diabetes))",
    re.I,
)
_ADVICE = re.compile(
    r"\b(?:you (?:must|should|need to|have to|ought to)|make sure (?:you|to)|(?:try|remember) to|it'?s (?:best|"
    r"important) (?:to|that you)|please (?:keep|avoid|stop|carry on)|don'?t forget to)\b|"
    r"^(?:\W*(?:and|so|but|just|okay|ok|right|then|please|also)\b)*\W*(?:keep|avoid|stop|carry on|check|take|drink|eat|"
    r"rest|use|break|bring|ring|call|come back|go back|try|book|write down|measure|test)\b(?! me\b)(?=[^?]*$)",
    re.I,
)
"""Advice: a modal ("you should"), or an imperative that starts the clause ("Keep taking them"); not "And it goes
off when you stop?"."""
_ASK_WH = re.compile(
    r"\bask(?: you)?(?: (?:something|a question))?,? (?:which|what|how|when|where|who|whether|if|about|do|does|did|"
    r"are|is|have|has|was|were|can|could|would|any)\b",
    re.I,
)
"""'Can I ask what...', 'May I ask, do you...': the question itself, not a request for leave."""
_NAME_PREF = re.compile(
    r"\b(?:how|what) (?:would|do|should|shall|can) (?:you like (?:me )?(?:to )?|i )?(?:call|address|refer to) "
    r"you\b|what (?:would|do) you (?:like|prefer) to be called|can i call you \w+|what(?:'s| is) your "
    r"(?:preferred )?name|(?:what|which) (?:are your )?pronouns",
    re.I,
)
_OPENING_Q = re.compile(
    r"\bwhat(?:'s| is| has)?,? (?:(?:what'?s|been) )*(?:going on|happening|brought you|brings you)\b", re.I
)
"""'In your own words, what's been going on?' opens the history; it checks no understanding."""
_IDENTITY = re.compile(
    r"\b(?:how old are you|what(?:'s| is) your age|your age|date of birth|\bdob\b|when (?:were|are) you born|"
    r"(?:date|day|year) you (?:are|were) born|"
    r"your (?:full )?name|confirm (?:your|who you are)|who (?:am i|i'?m) (?:speaking|talking) (?:to|with)|"
    r"your address|first line of your address|pronouns)\b",
    re.I,
)
_SMALL_TALK = re.compile(
    r"\b(?:weather|rain(?:ing|y)?|sunny|cold (?:out|outside|today)|hot (?:out|outside|today)|traffic|parking|"
    r"park ok|(?:get|got|getting) parked|find (?:us|the (?:place|clinic|surgery|room))|journey|get here|got here|"
    r"(?:cold|freezing|chilly|bitter|grim|miserable|wet|lovely|nice|warm|glorious) (?:out there|outside)|"
    r"(?:how was|have a (?:good|nice|"
    r"lovely)|good|nice|plans for|anything nice (?:at|this|for)) (?:your |the )?weekend|"
    r"waiting (?:long|room)|kept you waiting|busy (?:day|morning|in here)|how (?:are|have) (?:you|things) "
    r"(?:today|been|doing|keeping|going)|how are you\b(?! (?:managing|coping|getting on|finding|sleeping|eating|"
    r"feeling (?:about|with)|doing with))|how'?s it going|how are things)\b",
    re.I,
)
_SAID_EARLIER = re.compile(r"\byou (?:said|mentioned|told me)\b", re.I)
"""'You said earlier Tunde was parking the car': the learner recalls the patient's words, it is no small talk."""
_HOW_ARE_YOU = re.compile(
    r"\bhow (?:are|have) you (?:today|doing|been|keeping)?\b(?! (?:feeling|coping) (?:about|with))|"
    r"\bhow'?s it going\b",
    re.I,
)
_CLARIFY = re.compile(
    r"^(?:sorry[,\s]*)?(?:what do you mean|what did you (?:say|mean)|(?:can|could) you (?:say|repeat) that|"
    r"say that again|pardon|come again|sorry\??$|you mean|meaning\?|in what (?:way|sense))\b",
    re.I,
)
_TALK_INVITE = re.compile(
    r"\b(?:take your time|take (?:as long as|all the time) you need|"
    r"i'?m (?:here to|listening)|no rush|there'?s no rush|in your own time|"
    r"tell me (?:more )?(?:about )?how (?:you'?re|you are|you'?ve been) (?:feeling|coping|doing)|"
    r"how (?:are|have) you (?:been )?(?:feeling|coping)(?: about| with)?|how (?:is|has) (?:this|that|it|all "
    r"this) (?:been )?(?:affecting|affected) you|(?:is there )?anything (?:else )?(?:on your mind|you'?d "
    r"like to (?:talk|tell|share)|bothering you)|whatever you (?:tell|say)|(?:it'?s|this is) a safe space|"
    r"you can (?:tell|talk to) me (?:anything|how you(?:'re| are)? feel\w*)|(?:feel|are) free to (?:tell|share|talk) "
    r"(?:me )?(?:anything|how))\b",
    re.I,
)
_TAG = re.compile(
    r"^(?:(?:so|and|okay|ok|right|good)[,\s]+)?(?:(?:is|it'?s|it is)(?: (?:that|this|it))? (?:ok|okay|alright|"
    r"all right|fine|good|clear)"
    r"(?: (?:for|with) you)?|(?:ok|okay|alright|all right|fine|good) (?:for|with) you|"
    r"what do you think (?:about|of) (?:this|that|it|the plan)|would (?:that|this) be "
    r"(?:ok|okay|alright|all right|acceptable)(?: (?:for|with) you)?|does that sound "
    r"(?:ok|okay|alright|all right|good|fine|reasonable)|are you (?:ok|okay|alright|all right|happy) with that|"
    r"(?:ok|okay|alright|all right|right|yeah|yes|fine|good)|how(?: does|'?s| is) that sound|sound (?:ok|okay|good)|"
    r"how (?:do|would) you feel about (?:that|this|it|the plan))\W*$",
    re.I,
)
_ACK = re.compile(
    r"\b(?:i (?:hear|see) (?:that|what you|you)|that makes (?:complete |total )?sense|(?:i )?"
    r"understand(?:able)?|of course|fair enough|that'?s (?:really )?(?:helpful|useful|important) to know|"
    r"thank(?:s| you) for (?:telling|sharing|explaining|letting me know))\b",
    re.I,
)
_RECAP = re.compile(
    r"^so:|\b(?:let me (?:just )?(?:check|make sure) (?:that )?i(?:'ve| have)? (?:understand|understood|got)|"
    r"so i'?ve got (?:\w+ ){0,3}right|to (?:sum (?:up|it up|things up)|summari[sz]e|recap)|in summary|"
    r"(?:just )?to (?:recap|summari[sz]e)|"
    r"recap\w*|summar(?:y|i[sz]e|i[sz]ing)|if i (?:can |could |may )?(?:just )?(?:summari[sz]e|recap|go over|"
    r"understand (?:you )?correctly)|(?:let me|can i|could i|i'?ll|i'?d like to|i(?:'m| am) going to) (?:just )?"
    r"(?:summari[sz]e|recap|go over|run through|go back over|check (?:i|that i)(?:'ve| have)? (?:got|understood))|"
    r"just to (?:check|make sure) (?:that )?i(?:'ve| have)? (?:got|understood)|so,? to go over|"
    r"so,? (?:just )?(?:so )?i(?:'ve| have) got (?:it|this|that|everything|it all) (?:right|straight)|"
    r"(?:say|put|read|play) (?:it |that |this )?back|just to be (?:sure|clear)|(?:to make sure|so) i understand|"
    r"so what you'?re (?:saying|telling me)|if i'?ve (?:understood|got) (?:you|that|this|it) (?:right|correctly))\b",
    re.I,
)
_SAYBACK = re.compile(
    r"^so,? you(?:'re| are|'ve| have) [^?]{25,}?,? (?:yes|right|yeah|correct|is that (?:right|correct))\?$", re.I
)
"""A statement of what the patient said with a tag ("So you've had it two weeks, and it's worse at night, yes?")."""
_SUMMARY_CHECK = re.compile(
    r"\b(?:have i got (?:that|it|everything|all that|this) (?:right|correct)|is (?:that|this|it) (?:right|correct|"
    r"accurate)|"
    r"did i (?:get|miss) (?:that|anything)|(?:am i|is that) (?:right|correct)(?: so far)?|"
    r"have i missed anything|does that sound (?:right|about right|correct)|anything (?:i'?ve|i have) missed|"
    r"(?:that'?s|that is) (?:right|correct),? (?:isn'?t it|yeah)\?)",
    re.I,
)
_PLAN = re.compile(
    r"\b(?:i'?d like to|i would like to|i'?m going to|i am going to|i'?ll|i will|we'?ll|we will|we can|we could|"
    r"(?:^|\b(?:but|and|so|then) )we(?= (?:move|change|switch|swap|stop|start|keep|lower|reduce|increase|halve|"
    r"adjust|try)\b)|"
    r"(?:my|the) (?:idea|suggestion) (?:is|would be)|(?:one|another|an|my) (?:idea|suggestion)(?=\W)|"
    r"i can|i could|i want to|i'?d like you to|i would like you to|"
    r"let'?s|(?:my|the) plan (?:is|would be)|what i'?d (?:suggest|recommend|like)|"
    r"i'?d (?:suggest|recommend|advise)|i (?:suggest|recommend|advise)|you(?:'ll| will) need|we(?:'ll| will)? need|"
    r"you should|the next step|next steps?|(?:would|do) you (?:like|want) (?:me )?to|how (?:would|do) you "
    r"feel about|would you be (?:happy|willing|ok|okay) to|(?:one|another) option|the options?|we(?:'d| would) "
    r"(?:like to|normally|usually|offer|probably|then|also|first)|"
    r"(?:there|it) (?:is|are) (?:some |a few )?(?:treatments?|options?))\b"
    r"[^.?!]{0,60}?\b(?:refer\w*|arrange|book|start\w*|prescrib\w*|give you|send|organi[sz]e|order|request|"
    r"do (?:a|an|some|the)|get (?:a|an|some|you)|tests?|scans?|x-?rays?|ecg|bloods?|tablets?|medicines?|"
    r"medications?|antidepressants?|treatments?|referral|appointment|move|swap|adjust|lower|halve|follow[- ]?up|"
    r"see you|review|"
    r"operation|surgery|clinic|meet|"
    r"specialists?|team|nurse|options?|therapy|counsell\w*|support|try|change|increase|reduce|stop|"
    r"switch|take|inhaler|injection|insulin|procedure|biopsy|admit|hospital|chemo\w*|radio\w*|plan)\b",
    re.I,
)
_PLAN_ALONE = re.compile(
    r"\b(?:there(?:'s| is| are) (?:\w+ )?(?:options|choices)|here(?:'s| is) (?:an|my|one) (?:idea|suggestion)|"
    r"what if we|how about (?:if )?we|you (?:don'?t|do not) (?:have|need) to (?:decide|choose|"
    r"make (?:a|any|the|your) (?:decision|choice))|you can (?:decide|choose|think (?:about|it over))|"
    r"(?:the|your|a|our) (?:[\w-]+ ){0,3}(?:nurse|doctor|team|specialist|consultant|midwife|gp|clinic|unit|"
    r"secretary) (?:will|is going to|'ll) (?:ring|call|phone|contact|see|write to|send|get in touch))\b",
    re.I,
)
"""Options and next steps said without a verb of proposing ("There are three options", "The nurse will ring
you")."""
_REASSURE = re.compile(
    r"\b(?:(?:try )?not to worry|don'?t worry|you'?re in (?:good|safe) hands|(?:we|i)(?:'ll| will) (?:look "
    r"after|take care of|support) you|you (?:won'?t|will not) be (?:on your own|alone)|(?:this|it) is (?:very )?"
    r"(?:common|treatable|manageable)|(?:it'?s|that'?s|is|are) (?:really |very |so |quite )?(?:common|normal|"
    r"treatable|not your fault)|(?:nothing|not) (?:you did|your fault)|(?:does|did)n'?t make you|not a sign of|"
    r"(?:you'?re|you are) (?:clearly |really )?(?:doing|coping|looking after \w+) (?:so |really |very )?well|"
    r"you did (?:the )?right|you(?:'ve| have) done (?:the )?right|(?:we|i) can help|(?:there'?s|there is) "
    r"(?:a lot|lots|plenty) (?:we|i) can do|(?:is|are|will be|stays?) (?:completely |totally |strictly )?"
    r"confidential|(?:does|did|will)(?:n'?t| not) (?:cause|affect|harm|"
    r"mean (?:you|anyone|that|they|we))|(?:i|we) won'?t (?:mention|tell|"
    r"share))\b",
    re.I,
)
_LANGUAGE = re.compile(
    r"\b(?:interpreter|translator|(?:which|what) language|(?:prefer|rather|like) to (?:speak|talk|use) "
    r"in \w+|speak (?:any )?(?:english|other languages)|(?:is|are you (?:comfortable|ok|okay|happy) "
    r"(?:speaking|talking|with)) (?:in )?english|your (?:first|main|own|home) language|mother tongue|language "
    r"(?:line|you (?:speak|prefer)))\b",
    re.I,
)
_CLOSING = re.compile(
    r"\b(?:goodbye|bye|take care|all the best|look after yourself)\b|\bsee you(?: (?:soon|later|next time|then|"
    r"around))?\W*$",
    re.I,
)
_CLOSING_EXTRA = re.compile(
    r"\b(?:next patient|that'?s (?:all|it) for (?:today|now)|we(?:'re| are) (?:done|finished)|"
    r"you(?:'re| are) free to go|off you go|have a (?:good|nice|lovely|safe) (?:day|evening|weekend|journey|trip)|"
    r"(?:hope|hoping) you (?:feel|get) better|feel better soon|get well soon|get home safe\w*|safe journey|"
    r"(?:i'?ll|we'?ll|i will|we will) see you(?: and (?:\w+ ){0,2}\w+)? (?:again|next|in (?:a|two|three|four|\w+) "
    r"(?:days?|weeks?|months?)|on \w+day|tomorrow|soon|then)|"
    r"i'?ll (?:let you go|leave you|go and (?:get|fetch|find|see if))|"
    r"(?:stay|sit|remain) (?:here |in (?:this|the|here) room )(?:for )?as long as you (?:need|like|want)|"
    r"(?:take|have) as long as you (?:need|like|want) in (?:this|the|here) room|"
    r"i'?ll (?:just )?(?:go and )?(?:get|fetch|grab|bring in|find) (?:(?:the|my) (?:doctor|consultant|registrar|senior|"
    r"nurse|colleague)|(?:dr\.?|doctor|nurse|sister) \w+)(?: now| for you| in)?(?=\W*$)|"
    r"i'?ll be (?:just |right )?(?:outside|next door|in the (?:next|other) room|at the (?:desk|nurses'? station))|"
    r"(?:take|have) as long as you (?:need|like|want) in here)\b",
    re.I,
)
_DISMISS_EXTRA = re.compile(
    r"\b(?:next patient|(?:i(?:'m| am) )?(?:running|short (?:of|on)) time|(?:we )?(?:need|have) to (?:move|"
    r"get) on|moving on|anyway,|i don'?t have (?:long|time)|let'?s not (?:dwell|get into)|(?:it'?s|that'?s) "
    r"(?:just|only|probably) (?:nothing|a bug|stress|anxiety|your age|in your head)|it'?s nothing|"
    r"you'?ll be fine|man up|get over it|no need to (?:cry|get upset|worry)|nothing to worry about)\b",
    re.I,
)


@dataclass
class Clause:
    text: str
    moves: set[Move] = field(default_factory=set)

    @property
    def asks(self) -> bool:
        return Move.question in self.moves or Move.open_invitation in self.moves


@dataclass
class TurnReading:
    """What a learner turn does."""

    text: str
    """The turn without transcription tags."""
    clauses: list[Clause]
    moves: set[Move]
    unintelligible: bool = False

    def after(self, clause: Clause) -> list[Clause]:
        """The clauses said after `clause` in this turn."""
        i = next((k for k, c in enumerate(self.clauses) if c is clause), len(self.clauses))
        return self.clauses[i + 1 :]

    def has(self, *names: Move) -> bool:
        return any(m in self.moves for m in names)

    @property
    def questions(self) -> list[Clause]:
        return [c for c in self.clauses if c.asks]


def asks_leave(text: str) -> bool:
    """The learner asks leave to do something ("Is it OK if I ask a few questions?"), not what the patient wants."""
    return bool(_PERMISSION.search(text))


def is_noise(text: str) -> bool:
    """Nothing to answer: empty, fillers and backchannels only ('um, okay', 'mm-hmm', 'right')."""
    t = moves.clean(text)
    return not t or bool(_BACKCHANNEL.match(t))


def _clause_moves(c: str, *, news_context: bool) -> set[Move]:
    found: set[Move] = set()
    if _TAG.match(c.strip()) and c.strip().endswith("?"):
        return {Move.tag}
    if is_noise(c):
        return {Move.noise}
    social = False
    if acts.is_greeting(c) or moves.greets(c):
        found.add(Move.greeting)
        social = True
    if moves.introduces_self(c):
        found.add(Move.introduction)
        social = True
    # Speech recognition drops the "?" of "Would you like to come through to this room, it's quieter."
    proposes = c.rstrip().endswith("?") or bool(_PROPOSAL_START.match(c))
    helps = bool(_HELP_OFFER.search(c)) and proposes and not _ASK_WH.search(c)
    offer = _OFFER.search(c) and proposes and not _CHOICE_OR_WH.search(c) and not helps
    if (_PERMISSION.search(c) or offer) and not _ASK_WH.search(c):
        found.add(Move.permission)
    if _NAME_PREF.search(c) or _IDENTITY.search(c):
        found.add(Move.identity)
    if _LANGUAGE.search(c):
        found.add(Move.language)
    if _SMALL_TALK.search(c) and not _TALK_INVITE.search(c) and not _SAID_EARLIER.search(c):
        found.add(Move.small_talk)
    if _CLARIFY.match(c.strip()):
        found.add(Move.clarification)
    if _TALK_INVITE.search(c):
        found.add(Move.invitation_to_talk)
    if acts.is_empathic(c):
        found.add(Move.empathy)
    elif _ACK.search(c):
        found.add(Move.acknowledgement)
    if _RECAP.search(c) or _SUMMARY_CHECK.search(c) or _SAYBACK.search(c):
        found.add(Move.summary)
    if moves.invites_questions(c):
        found.add(Move.invite_questions)
    elif moves.checks_understanding(c) and not _OPENING_Q.search(c):
        found.add(Move.check_understanding)
    if moves.safety_netting(c):
        found.add(Move.safety_net)
    if _PLAN.search(c) or _PLAN_ALONE.search(c):
        found.add(Move.plan)
    if _ADVICE.search(c) and not moves.safety_netting(c):
        found.add(Move.advice)
    if _REASSURE.search(c) and not moves.safety_netting(c):
        found.add(Move.reassurance)
    if _CLOSING.search(c) or _CLOSING_EXTRA.search(c):
        found.add(Move.closing)
    if acts.is_thanks(c):
        found.add(Move.thanks)
    if acts.is_dismissive(c) or _DISMISS_EXTRA.search(c):
        found.add(Move.dismissal)
    asking = moves.is_asking(c) or (c[-1:] not in ".!?" and bool(_EMBEDDED_Q.search(c)))
    handled = found & {
        Move.permission,
        Move.identity,
        Move.small_talk,
        Move.clarification,
        Move.invite_questions,
        Move.check_understanding,
        Move.language,
    }
    if Move.summary in found and (_SUMMARY_CHECK.search(c) or _SAYBACK.search(c)):
        handled.add(Move.summary)
    if _PROPOSAL_Q.search(c) and c.rstrip().endswith("?"):
        helps = True  # "Would you try that?": taken up like an offer
    if helps:
        found.add(Move.plan)  # "Would it help if Sarah sat with you when you ring Claire, or ...?"
        handled.add(Move.plan)
    if Move.plan in found and not re.search(r"\b(?:how|what|when|where|which|who|why)\b", c, re.I):
        handled.add(Move.plan)  # "Would you like me to refer you?" is an offer, not a fact question
    if asking and not handled:
        found.add(Move.open_invitation if acts.is_open_question(c) else Move.question)
    elif (
        not asking
        and not found - {Move.thanks, Move.acknowledgement}
        and not social
        and (moves.is_explanation(c) or (news_context and _INFO.search(c) and not _RESTATE.search(c)))
    ):
        found.add(Move.explanation)
    explains = moves.is_explanation(c) or bool(_DIAGNOSIS.search(c))
    if not asking and explains and not found & {Move.summary, Move.safety_net, Move.empathy}:
        found.add(Move.explanation)
    return found


def _split_list(clause: str) -> list[str]:
    """'Any medical problems, regular meds, allergies?' -> three questions; longer clauses stay whole."""
    if not clause.endswith("?") or "," not in clause:
        return [clause]
    alternatives = _OR_SPLIT.split(clause[:-1], maxsplit=1)
    if len(alternatives) == 2 and _YES_NO_START.match(alternatives[0]) and not _OFFER.search(alternatives[0]):
        # "Have you been abroad lately, or been on any antibiotics?": two questions
        return [a.strip(" ,") + "?" for a in alternatives]
    parts = [p.strip(" ,?") for p in _LIST_SPLIT.split(clause[:-1])]
    parts = [p for p in parts if p and not is_noise(p) and not _PREFACE.match(p)]  # "..., and, sorry, any allergies?"
    if len(parts) < 2 or any(len(p.split()) > 6 or _TAG_Q.match(p) for p in parts):
        return [clause]
    symptoms = _ANY_LIST.match(parts[-1]) and all(
        len(p.split()) <= 4 for p in parts
    )  # "Short of breath, any blackouts?"
    if not (_ANY_LIST.match(parts[0]) or symptoms or all(_Q_WORD.match(p) for p in parts[1:])):
        return [clause]  # "How are the symptoms, like the sickness, at the moment?" is one question
    return [p + "?" for p in parts]


_OK_TAG = r"(?:is (?:it|that) |it is |it'?s |is )?(?:ok|okay|alright|all right|fine)(?: (?:for|with) you)?\?"
_ASKS_OK = re.compile(rf"^{_OK_TAG}$", re.I)
"""'Is it okay?', 'it is okay for you?': asks whether something is all right."""
_TAIL_TAG = re.compile(rf"^(?P<head>.*\w)[,;]\s*(?P<tag>{_OK_TAG})$", re.I)
"""A tag at the end of a statement ("I'd like to speak with you first, it is okay for you?"): two clauses."""
_ABOUT_ME = re.compile(r"\b(?:i|me|we|us)\b", re.I)
_HELP_OFFER = re.compile(r"\bwould (?:it|that|this) help (?:to|if|you|for)\b", re.I)
"""An offer of help, even one that gives a choice ("Would it help to phone Claire now, or would you rather ring her
yourself?"): the patient takes it up, declines or hesitates; it asks for no fact."""
_PROPOSAL_Q = re.compile(
    r"^(?:\W*(?:and|so|okay|ok|then|now|next)\b)*[^?]{0,80}?\b(?:would you (?:try|think about|consider|be (?:willing|"
    r"happy|able|ok|okay) to)|(?:could|can) you (?:try(?! (?:to |and )?(?:describe|tell|explain|remember|recall|think|"
    r"say|show|point))|take|keep|stop|start|bring|book|write|come back)|are you (?:willing|happy|able) to "
    r"(?:try|check|take|change|start|stop))\b",
    re.I,
)
"""A proposal put as a question ("Would you try that?", "Could you take it at iftar instead?"): a plan. ("Can you
check the sugar at two?" stays a question: the case's view of finger pricks answers it.)"""
_WHICH_OPTION = re.compile(
    r"^(?:\W*(?:and|so|okay|ok|then|now)\b)*\W*(?:which|what)(?: one| option)? (?:is|would be|sounds|seems) "
    r"(?:better|best|easier|more (?:doable|manageable))(?: for you)?\W*$|^(?:which|what) would you prefer\W*$",
    re.I,
)
"""'Which is better for you?' after options given: the patient chooses or takes one up (a plan)."""
_OTHER_OPTION = re.compile(r"^(?:or )?(?:would you (?:rather|prefer)|do you prefer|or)\b", re.I)
_CUT_WORD = re.compile(r"\b\w+-\W*$")
"""The last word cut off by the recogniser ("like time with Tob-")."""


_CHOICE_TAIL = re.compile(r"^(?:shall|should) (?:i|we)\b|^would you (?:rather|prefer)\b|^do you prefer\b", re.I)
_BARE_WH = re.compile(r"^(?:where|how (?:long|bad|often|severe)|which side|what (?:like|about it))\W*$", re.I)
_TOPIC_ONLY = re.compile(r"^(?P<topic>(?:the|your|that|this) (?:\w+ ){0,2}\w+)\W*$", re.I)
"""A terse learner names the topic, then asks: "The pain. Where?" is "Where is the pain?"."""


def _parts(cleaned: str) -> list[str]:
    """Clauses and list questions, mended where the clause reader cut too much or too little: an "If ..."
    condition joins its consequence; "..., or shall I crack on?" stays one choice; "The pain. Where?" is
    "Where is the pain?"; a statement with a tag ("..., it is okay for you?") is two clauses."""
    parts = [q for p in (acts.clauses(cleaned) if cleaned else []) for q in _split_list(p)]
    out: list[str] = []
    for p in parts:
        if out and re.match(r"(?i)^if\b", out[-1]) and out[-1][-1:] not in ".?!":
            out[-1] = f"{out[-1]}, {p}"
            continue
        head = out[-1].rstrip("?").strip() if out else ""
        if head and _CHOICE_TAIL.match(p) and re.search(re.escape(head) + r",?\s+or\s+" + re.escape(p[:12]), cleaned):
            out[-1] = f"{head}, or {p}"  # "Do you want to wait for him, or shall I crack on?": one choice
            continue
        if out and _BARE_WH.match(p) and (named := _TOPIC_ONLY.match(out[-1])):
            topic = named["topic"]
            out[-1] = f"{p.rstrip('?').strip()} is {topic[0].lower()}{topic[1:]}?"  # "The pain. Where?"
            continue
        m = _TAIL_TAG.match(p)
        out += [m["head"], m["tag"]] if m else [p]
    return out


def read_turn(text: str, *, news_context: bool = False) -> TurnReading:
    """Read a learner turn. `news_context`: a bad-news consultation where statements are information giving."""
    unintelligible = bool(_UNINTELLIGIBLE.search(text))
    cleaned = spelt_out(moves.clean(text))
    clauses = [Clause(p, _clause_moves(p, news_context=news_context)) for p in _parts(cleaned)]
    for prev, c in itertools.pairwise(clauses):
        pair = f"{prev.text} {c.text}"
        if not c.asks and Move.safety_net not in prev.moves | c.moves and moves.safety_netting(pair):
            c.moves = (c.moves - {Move.explanation, Move.advice}) | {Move.safety_net}  # condition, then what to do
        if c.moves == {Move.tag} and _ASKS_OK.match(c.text) and not prev.moves and _ABOUT_ME.search(prev.text):
            c.moves = {Move.permission}  # "I speak with you first, it is okay for you?": leave asked
        if _WHICH_OPTION.match(c.text) and re.search(r"\bor\b", prev.text, re.I):
            c.moves = {Move.plan}  # "Only at iftar, or stop it for the month. Which is better for you?"
        if Move.plan in prev.moves and _HELP_OFFER.search(prev.text) and _OTHER_OPTION.match(c.text):
            c.moves = {Move.plan}  # "Would it help to phone her now, or would you rather ring her yourself?"
    for c in clauses[:-1]:
        said = re.escape(c.text.rstrip("?").strip())
        choice = re.search(said + r",?\s+or\b", cleaned, re.I)
        if Move.permission in c.moves and choice and not _HELP_OFFER.search(c.text):
            c.moves = (c.moves - {Move.permission}) | {Move.question}  # "sit here, or would you rather stand?"
    if any(_OPENING_Q.search(c.text) for c in clauses):
        for c in clauses:
            c.moves.discard(Move.check_understanding)  # "In your own words, what's been going on?"
    meaningful = [c for c in clauses if Move.noise not in c.moves]
    all_moves: set[Move] = set().union(*(c.moves for c in meaningful)) if meaningful else {Move.noise}
    cut_off = bool(
        re.search(r"(?:" + _UNINTELLIGIBLE.pattern + r")\W*$|(?:\.\.\.|…)$", text.strip(), re.I)
        or _CUT_WORD.search(text.strip())
    )  # "...or you [inaudible]", "a thin [inaudible] through the...", "like time with Tob-" (trailing off)
    short = len(cleaned.split()) <= 6 or cleaned.lstrip().startswith("...")
    empty = not content_words(cleaned)  # "And does it ever [inaudible] ... when you're ... at all?"
    fragment = unintelligible and (not meaningful or short or cut_off or empty)
    return TurnReading(cleaned, meaningful, all_moves, unintelligible=fragment)
