"""What an editor's rules look like in a sentence: hooks, substance, payoffs, filler kinds, dangling starts.

The heuristic selector scores a clip from these per-sentence cues by POSITION (the hook must open the clip, the
payoff must close it) and by SHARE (of the clip's sentences), never by raw counts, so no cue grows with length.
The word lists name kinds of speech (a greeting, a mic check, a sponsor read, a hedge, a recap, Q&A
logistics, an anecdote that trails off), not any one talk's topic words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


NUMBER_WORDS = (
    r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|"
    r"percent|half|third|quarter|twice|double|doubled|tripled|triple)\b|\d"
)
NUMBER = _rx(NUMBER_WORDS)
#: A number that measures a change or a comparison: a result, not an ingredient list.
RESULT = _rx(
    r"\bfrom\b[^.?!]{0,40}\bto\b[^.?!]{0,25}(" + NUMBER_WORDS + ")",
    r"%|\bpercent\b",
    r"\b(more|less|fewer|higher|lower|faster|slower|better|worse|bigger|smaller|cheaper)\b[^.?!]{0,30}\bthan\b",
    r"\b(doubled|tripled|halved|twice|times (as|more|faster|higher))\b",
    r"\b(went|rose|fell|dropped|jumped|grew|climbed|shrank|cut|raised|saved|lost|gained|cost|earned)\b"
    r"[^.?!]{0,40}(" + NUMBER_WORDS + ")",
    r"\b(a|one|two) (third|half|quarter)s?\b",
)
QUESTION_START = _rx(
    r"^(why|what if|what do|what does|how do|how does|how can|do you|did you|have you|want to know|ever wonder)\b"
)
YOU = _rx(r"\b(you|your|you're|yourself)\b")
CLAIM = _rx(
    r"\b(never|always|nobody|nothing|everyone|everything|only|secret|mistake|truth|wrong|myth|hardest|easiest|"
    r"best|worst|biggest|most|least|predictor|surprised|surprising|shocking|matters?|real reason)\b"
)
STORY = _rx(
    r"\b(i|we|he|she|they|my \w+|our \w+|his \w+|her \w+)\b( \w+){0,2} (\w{3,}ed|was|were|had|went|said|told|found|"
    r"took|came|made|knew|thought|saw|gave|left|got|began|asked|spent|kept|became|brought|paid|ran|wrote|sat|fought|"
    r"drove|grew|built|lost|won|sent|heard|felt|met|tried|learned|noticed)\b",
    r"\b(years? ago|last (year|summer|winter|spring|autumn|month|week)|one day|a (day|week|month|year) later|"
    r"when (i|we|she|he|they) (first|finally)|in (18|19|20)\d\d|for \w+ years)\b",
)
TURN = _rx(
    r"\b(but|however|instead|until|turns out|turned out|actually|except|yet|only to|finally|suddenly|it was not|"
    r"what nobody|the problem|not because)\b"
)
PAYOFF_START = _rx(
    r"^(so|that is why|that's why|which means|the lesson|the point|the answer|the reason|since then|"
    r"these days|in the end|and that)\b",
    r"^(stop|start|pick|build|leave|try|look|ask|put|say|make|keep|let|don't|do not|never|always|use|cut|write|"
    r"take|give|check|press|bake|choose|name|think)\b",
)
CONTRAST = _rx(r"\bnot\b[^.?!]{1,40},", r", not\b", r"\bnot \w+,? but\b", r"\brather than\b", r"\binstead of\b")

FILLER_KINDS: dict[str, re.Pattern[str]] = {
    "greeting": _rx(
        r"^(hi|hello|hey|welcome)\b",
        r"\bgood (morning|afternoon|evening)\b",
        r"\bwelcome (back|to|everyone|everybody|all)\b",
        r"\bthanks?( you)?( all| everyone| everybody| so much)? for (coming|having|joining|being here|inviting|"
        r"getting up|listening|watching)",
        r"\b(glad|great|lovely|nice|wonderful|good) to (see|be here|have you)\b",
        r"\bmy name is\b",
        r"^thank you\b",
    ),
    "mic check": _rx(
        r"\bcan (you|everyone|everybody|the people\b[^.?!]*) hear\b",
        r"\bhear me\b",
        r"\bis this (on|working)\b",
        r"\btesting\b",
        r"\b(microphone|mic check|audio levels?|clicker|slides?|projector|laptop)\b",
        r"\bgive me (a|one) (second|sec|moment|minute)\b",
        r"\bare we live\b",
        r"\b(the chat|thumbs up)\b",
        r"^there we go\b",
    ),
    "housekeeping": _rx(
        r"\b(restrooms?|toilets?|bathrooms?|wi-?fi|password|fire (alarm|exits?)|exits?|housekeeping)\b",
        r"\b(your phones?|phones? (on|off|away)|on silent|photography|no flash|visitor book|badges?|tickets?)\b",
        r"\b(parking|car park|reception)\b",
        r"\b(coffee|lunch|pizza|drinks|refreshments|snacks|biscuits|the break|a break|kitchen is)\b",
        r"\b(handouts?|aprons?|chairs?|seats?|the foyer|the atrium|the lobby)\b",
        r"\b(we are recording|being recorded|is recorded|recording will be)\b",
        r"\b(quick (notes?|reminder)|just so you know|a reminder|by the way|before we (start|begin))\b",
    ),
    "sponsor": _rx(
        r"\b(sponsors?|sponsored|brought to you by|supported by|supporting (the show|us)|kindly provided)\b",
        r"\b(thanks?|thank you|many thanks|shout ?out)( again)? to\b",
        r"\b(promo|discount|percent off|use the code|in the description|like and subscribe|subscribe)\b",
    ),
    "recap": _rx(
        r"\b(recap|to sum up|sum up|in summary|so far|to wrap up|wrap up|the overview)\b",
        r"\bwe (covered|talked about|looked at|discussed|went through)\b",
        r"\b(as i (said|mentioned)|like i said|i mentioned earlier|as i said at)\b",
        r"\bthe main (things|stuff|points)\b",
        r"\b(brings us to the end|that is (all|about it)|that's (all|about it))\b",
    ),
    "Q&A logistics": _rx(
        r"\bquestions?\b[^.?!]*\b(end|now|time|floor|take|happy|any|minutes|shout|write|cards?)\b",
        r"\b(any|few|some) questions\b",
        r"\b(raise your hand|wait for the microphone|line up|pass them)\b",
        r"\bnext (session|talk|stream|episode|meetup|month's|week's)\b",
        r"\b(see you|bye|i will stop (there|talking)|i'll stop (there|talking)|leave it there)\b",
        r"\b(find me (afterwards|by|at)|back here at)\b",
        r"\b(on the website|will be (emailed|posted|online)|book a slot|in room \w+|letter home)\b",
    ),
    "hedging": _rx(
        r"\b(not (really )?sure|i guess|kind of|sort of|maybe|probably|it depends|depends on|could be wrong)\b",
        r"\b(not an expert|not a (doctor|lawyer|licensed)|financial advice|hard to say|may or may not)\b",
        r"\b(mileage|pinch of salt|grain of salt|i suppose|to be honest|honestly|not going to say)\b",
        r"\b(every \w+ is different|use your own judgement|i could be wrong|not want to give you the wrong)\b",
    ),
    "trailing anecdote": _rx(
        r"^anyway\b|\banyway[.!]?$",
        r"\b(where i was going|i wonder what|a while ago|long time ago|funny story)\b",
        r"\b(do not|don't|cannot|can't|could not) (quite |really )?remember\b",
        r"\b(does not|doesn't) (really )?matter\b",
    ),
    "aside": _rx(
        r"\bsorry (about|for) (that|this|the)\b|\bbear with me\b|\bexcuse me\b|\bwhere was i\b|\bmade up\b",
        r"\b(here today|this morning|a bit (damp|tired|nervous|late|wet))\b",
        r"\b(i do not|i don't) really have (a|an) (good |better )?answer\b",
    ),
}
#: An opening that leans on what came before: the clip would not stand alone.
DANGLING = _rx(
    r"^(and|but|also|or|because|which|it|they|he|she|then|plus|another|the other|same here)\b",
    r"\b(as i (said|mentioned)|like i (said|mentioned)|going back to|this slide|that slide|the slide|earlier)\b",
    r"^(so|okay|ok|alright|right|now),",
)


@dataclass
class Cues:
    """The cues of one sentence (``words``: its length in words)."""

    text: str
    words: int
    question: bool = False
    number: bool = False
    result: bool = False
    you: bool = False
    claim: bool = False
    story: bool = False
    turn: bool = False
    payoff: bool = False
    contrast: bool = False
    dangling: bool = False
    filler: list[str] = field(default_factory=list)


def sentence_cues(text: str) -> Cues:
    t = " ".join(text.replace("\u2019", "'").split())
    body = t.rstrip(".?!… ")
    c = Cues(text=t, words=len(t.split()))
    c.question = t.endswith("?") or bool(QUESTION_START.search(t))
    c.number = bool(NUMBER.search(t))
    c.result = bool(RESULT.search(t))
    c.you = bool(YOU.search(t))
    c.claim = bool(CLAIM.search(t))
    c.story = bool(STORY.search(t))
    c.turn = bool(TURN.search(t))
    c.payoff = bool(PAYOFF_START.search(t))
    c.contrast = bool(CONTRAST.search(body))
    c.dangling = bool(DANGLING.search(t))
    c.filler = [kind for kind, rx in FILLER_KINDS.items() if rx.search(t)]
    return c
