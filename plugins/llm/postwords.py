"""Words a creator would post, from the clip's own sentences: titles, hashtags, captions, chapters, summaries.

- Title: a whole hook phrase of at most ``TITLE_MAX`` characters: the opening sentence when it fits, else its
  leading whole clauses, else another whole sentence of the clip (the payoff is often short), else the clip's
  topic noun phrase. Never cut mid-word or mid-phrase, never an ellipsis.
- Hashtags: the clip's topic nouns and two-word noun phrases (no stopwords, no verbs, no adverbs), ranked by
  how much more the clip uses them than the rest of the talk; capped per platform (``HASHTAGS``).
- Chapters: talk units joined until each lasts ``CHAPTER_MIN`` s (YouTube needs 10 s and three or more), the
  first at 0:00, each titled with its topic noun phrase (or its kind: "Welcome", "Questions").
"""

from __future__ import annotations

import math
import re
from collections import Counter

from clipcast import Chapter, Sentence, Summary
from plugins.llm.cues import FILLER_KINDS, sentence_cues


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


TITLE_MAX = 60
CHAPTER_MIN = 10.0
#: Sentences a summary has at least (one or more from every topic chapter).
SUMMARY_SENTENCES = 3
#: Most hashtags per platform: YouTube shows three above the title; more reads as spam everywhere.
HASHTAGS = {"tiktok": 4, "youtube": 3, "instagram": 5}

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*")
STOPWORDS = _wordset(
    """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just let me more my no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their them then there these they
    this those through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself ll re ve don didn doesn isn aren wasn weren won t s d m o also get got
    go going gonna one two like well yeah okay ok oh um uh really thing things lot way see know think say said
    make made new next many much even still back want need use used using let's every everyone everybody nobody
    nothing something anything always never often sometimes maybe probably actually honestly basically
    literally right sure thank thanks hello hi hey welcome today tonight yesterday tomorrow first second third
    last little big good great bad best worst most least same different own whole ago later soon almost enough
    quite rather simply just kind sort three four five six seven eight nine ten twenty thirty forty fifty
    hundred thousand million percent half
    """
)
#: Common verbs and adjectives that survive the stopword list but never make a topic.
NOT_TOPICS = _wordset(
    """
    ask asked bring brought build built buy call called came come comes cut decide did doing drop dropped ends
    feel felt find found gave give gives giving grew help helped hold keep kept knew learn learned leave left
    look looked lost meet met move moved noticed paid pay pick picked put ran read run runs sat saw seem seemed
    sent set show showed spent start started stop stopped take taken takes talk talked tell told tried try turn
    turned wait walk went work worked write wrote wanted means mean happened changed looks sounds matter
    matters true real hard easy simple small large long short high low full free open clear happy early late
    fast slow able sorry serious quick quickly finally suddenly exactly certainly obviously usually pretty
    lovely amazing wonderful nice fine okay anyway though although however instead because thing stuff bit lots
    plenty need needs needed due slept woke wake drove told thought taught caught bought sold held stood
    understood began begun broke chose fell forgot hid hit hurt meant rose sang sank shook shot shut spoke stole
    threw wore won
    year month week day hour minute time end number people person part please less old win wins side line
    morning evening night today start beginning yes useful
    """
)


def tokens(text: str) -> list[str]:
    return [t.lower().strip("'-") for t in _TOKEN.findall(text.replace("\u2019", "'"))]


def stem(word: str) -> str:
    """A deliberately small plural folding (English); leaves words it is unsure of alone."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and (word.endswith(("ches", "shes")) or (word.endswith("es") and word[-3] in "sxz")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "is", "us")):
        return word[:-1]
    return word


def topic_word(word: str) -> bool:
    """Likely a noun: not a stopword, verb or adverb by its form or by the lists above."""
    if len(word) < 3 or word in STOPWORDS or word in NOT_TOPICS or stem(word) in NOT_TOPICS or "'" in word:
        return False
    return not word.endswith(("ed", "ly", "ing")) or word in {"morning", "evening", "building", "meeting", "spring"}


def topic_terms(text: str) -> list[str]:
    """Topic nouns (stemmed) and two-word noun phrases ("bike lane") of a text, in order."""
    out: list[str] = []
    for sentence in re.split(r"(?<=[.?!])\s+", text):
        out += _sentence_terms(tokens(sentence))
    return out


_DETERMINERS = _wordset(
    """
    the a an your my our their his her this that these those every each some
    """
)


def _sentence_terms(toks: list[str]) -> list[str]:
    out: list[str] = []
    for i, t in enumerate(toks):
        if i == 0 and len(toks) > 1 and toks[1] in _DETERMINERS:  # "Knead the dough": an imperative verb
            continue
        if topic_word(t):
            out.append(stem(t))
            if i + 1 < len(toks) and topic_word(toks[i + 1]):
                out.append(f"{t} {stem(toks[i + 1])}")
    return out


class Corpus:
    """How often each topic term appears across the talk's sentences (for "more here than elsewhere")."""

    def __init__(self, sentences: list[Sentence]) -> None:
        self.n = max(1, len(sentences))
        self.df: Counter[str] = Counter()
        for s in sentences:
            self.df.update(set(topic_terms(s.text)))

    def idf(self, term: str) -> float:
        return math.log((1 + self.n) / (1 + self.df.get(term, 0))) + 1.0

    def top_terms(self, text: str, k: int) -> list[str]:
        counts = Counter(topic_terms(text))
        # a phrase seen twice beats its words; a word must recur in the clip or the talk to be a topic
        scored = {
            t: c * self.idf(t) * (1.6 if " " in t else 1.0) * (1.0 if c > 1 or self.df.get(t, 0) > 1 else 0.6)
            for t, c in counts.items()
            if " " not in t or c > 1 or self.df.get(t, 0) > 1
        }
        picked: list[str] = []
        for t, _ in sorted(scored.items(), key=lambda kv: -kv[1]):
            if any(t in p.split() or p in t.split() or stem(t) == p for p in picked):
                continue
            picked.append(t)
            if len(picked) >= k:
                break
        return picked


# --------------------------------------------------------------------------------------------- titles


_LEAD = re.compile(r"^(so|now|okay|ok|alright|right|well|and|but)\b[,]?\s+", re.IGNORECASE)


def _clean(sentence: str) -> str:
    s = _LEAD.sub("", " ".join(sentence.split()))
    return s[:1].upper() + s[1:] if s else s


def title_for(sentences: list[str], corpus: Corpus | None = None, limit: int = TITLE_MAX) -> str:
    """A whole hook phrase of at most ``limit`` characters (see the module docstring)."""
    if not sentences:
        return ""
    first = _clean(sentences[0])
    if len(first.split()) >= 3 and len(first) <= limit:
        return first.rstrip(".")
    clauses = re.split(r"(?<=[,;:])\s+", first)
    head = ""
    for clause in clauses:
        candidate = f"{head} {clause}".strip()
        if len(candidate.rstrip(",;:")) > limit:
            break
        head = candidate
    head = head.rstrip(",;: ")
    if len(head.split()) >= 4 and tokens(head)[-1] not in STOPWORDS:
        return head
    others = [_clean(s).rstrip(".") for s in sentences[1:]]
    fitting = [s for s in others if len(s.split()) >= 4 and len(s) <= limit]
    if fitting:
        ranked = sorted(fitting, key=lambda s: -_punch(s))
        return ranked[0]
    phrase = _leading_phrase(first, limit)
    if phrase:
        return phrase
    terms = corpus.top_terms(" ".join(sentences), 2) if corpus else []
    if terms:
        return _phrase(terms)[:limit].rsplit(" ", 1)[0] if len(_phrase(terms)) > limit else _phrase(terms)
    words = first.split()
    while words and len(" ".join(words)) > limit:
        words.pop()
    return " ".join(words)


def _leading_phrase(sentence: str, limit: int) -> str:
    """The longest opening of ``sentence`` within ``limit`` characters that ends on a content word right before
    a function word ("...our whole city council | when Seville built..."): a whole phrase, not a cut one."""
    words = sentence.rstrip(".?!").split()
    best = ""
    for k in range(3, len(words)):
        head = " ".join(words[:k])
        if len(head) > limit:
            break
        last, nxt = tokens(words[k - 1]), tokens(words[k])
        if last and nxt and last[-1] not in STOPWORDS and nxt[0] in STOPWORDS and not words[k - 1].endswith(","):
            best = head
    return best


def _punch(sentence: str) -> float:
    c = sentence_cues(sentence)
    return 2 * c.result + 2 * c.contrast + c.question + c.payoff + c.claim - 3 * bool(c.filler)


def _phrase(terms: list[str]) -> str:
    words = [t.capitalize() if i == 0 else t for i, t in enumerate(terms)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# -------------------------------------------------------------------------------------------- hashtags


def hashtag(term: str) -> str:
    return "#" + "".join(w.capitalize() if i else w for i, w in enumerate(term.split()))


def hashtags_for(text: str, corpus: Corpus, k: int = max(HASHTAGS.values())) -> list[str]:
    return [hashtag(t) for t in corpus.top_terms(text, k)]


#: Spoken disfluencies the recogniser keeps on purpose (its prompt asks for them, so renders can cut them): they
#: stay in the transcript and the burned captions' timing, but never in words a creator posts.
_FILLER_SOUND = r"(?<![\w-])(?:um+|uh+m?|erm|er|hmm+|mm+)(?![\w-])"
_DISFLUENCY = re.compile(rf",\s*{_FILLER_SOUND},|\s*{_FILLER_SOUND},?", re.IGNORECASE)


def without_disfluencies(sentence: str) -> str:
    """``sentence`` without "um", "uh", "hmm"… and their commas ("And then, um, the…" → "And then the…")."""
    text = _DISFLUENCY.sub("", sentence)
    text = re.sub(r",\s*([,.?!])", r"\1", text)
    text = " ".join(text.split()).lstrip(",. ")
    text = re.sub(r"([.?!] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)  # "…works. Um, yes."
    return text[:1].upper() + text[1:] if sentence.lstrip()[:1].isupper() else text


def plan_words(sentences: list[str], corpus: Corpus) -> dict:
    """Title, caption, hashtags and per-platform captions for a clip's sentences."""
    sentences = [clean for s in sentences if (clean := without_disfluencies(s))]
    text = " ".join(sentences)
    title = title_for(sentences, corpus)
    tags = hashtags_for(text, corpus)
    caption = ""
    for s in sentences:
        if caption and len(caption) + len(s) > 150:
            break
        caption = f"{caption} {s}".strip()
        if len(caption) > 150:
            caption = title
            break
    return {
        "title": title,
        "caption": caption,
        "hashtags": tags,
        "platform_captions": {
            "tiktok": " ".join([title, *tags[: HASHTAGS["tiktok"]]]).strip(),
            "youtube": " ".join([title, "#shorts", *tags[: HASHTAGS["youtube"] - 1]]).strip(),
            "instagram": f"{caption}\n\n{' '.join(tags[: HASHTAGS['instagram']])}".strip(),
        },
    }


# -------------------------------------------------------------------------------------------- chapters

_KIND_TITLES = {
    "greeting": "Welcome",
    "mic check": "Welcome",
    "housekeeping": "Housekeeping",
    "sponsor": "Sponsors",
    "recap": "Recap",
    "Q&A logistics": "Questions",
}


def filler_kind(sentences: list[Sentence]) -> str | None:
    """The filler kind most of a unit's sentences share, when most of them are filler."""
    kinds = [sentence_cues(s.text).filler for s in sentences]
    if sum(bool(k) for k in kinds) * 2 < len(kinds):
        return None
    counts = Counter(k for ks in kinds for k in ks)
    return counts.most_common(1)[0][0] if counts else None


def chapter_units(units: list[list[Sentence]], duration: float, min_len: float = CHAPTER_MIN) -> list[list[Sentence]]:
    """Units joined into chapters of at least ``max(min_len, duration / 10)`` s (the last one may join its
    predecessor); a talk shorter than three chapters' worth is one chapter."""
    need = max(min_len, duration / 10)
    chapters: list[list[Sentence]] = []
    for unit in units:
        if chapters and (chapters[-1][-1].end - chapters[-1][0].start < need):
            chapters[-1] = chapters[-1] + unit
        else:
            chapters.append(list(unit))
    if len(chapters) > 1 and chapters[-1][-1].end - chapters[-1][0].start < need:
        chapters[-2:] = [chapters[-2] + chapters[-1]]
    return chapters


def chapter_title(chapter: list[Sentence], corpus: Corpus) -> str:
    kind = filler_kind(chapter)
    if kind:
        return _KIND_TITLES.get(kind, kind.capitalize())
    terms = corpus.top_terms(" ".join(s.text for s in chapter), 1)
    if not terms:
        return title_for([s.text for s in chapter], corpus, 40)
    return terms[0][:1].upper() + terms[0][1:]


def summarize_units(units: list[list[Sentence]], duration: float, corpus: Corpus) -> Summary:
    """Chapters from units, and a summary with one sentence for every topic chapter (filler chapters skipped)."""
    chapters = chapter_units(units, duration)
    if len(chapters) < 3 or duration < 30:  # YouTube needs three chapters of 10 s: otherwise one, at 0:00
        chapters = [[s for c in chapters for s in c]]
    out = [
        Chapter(start=0.0 if i == 0 else round(c[0].start, 1), title=chapter_title(c, corpus))
        for i, c in enumerate(chapters)
    ]
    topics = [c for c in chapters if not filler_kind(c)] or chapters
    per = max(1, math.ceil(SUMMARY_SENTENCES / len(topics)))  # at least three sentences, one or more per topic
    lines = []
    for c in topics:
        plain = [s for s in c if not sentence_cues(s.text).filler] or c
        ranked = sorted(
            plain, key=lambda s: (_punch(s.text), len(topic_terms(s.text)) / (1 + len(s.text.split()) / 20))
        )
        best = sorted(ranked[-per:], key=lambda s: s.start)
        lines += [s.text.strip() for s in best]
    return Summary(summary=" ".join(lines), chapters=out)


def kind_names() -> list[str]:
    return list(FILLER_KINDS)
