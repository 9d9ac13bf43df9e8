"""Study notes for a talk or lecture: summary, chapters with timestamps, key points and quotable lines (Markdown).

Summary and chapters come from the configured selector's ``summarize`` (the heuristic by default). Key points
are the best sentence of each of the talk's strongest units (by the heuristic's score, in talk order); quotable
lines are short sentences (at most ``QUOTE_WORDS`` words) that land a point: a contrast, a takeaway, a number
that measures a result or a bold claim, and no filler.
"""

from __future__ import annotations

from typing import Any

from core.contracts import Candidate, Summary, Transcript
from core.pipeline.candidates import split_sentences
from core.pipeline.pauses import find_pauses
from core.pipeline.select import audio_context, speech_only
from core.pipeline.units import talk_units

QUOTE_WORDS = 20
KEY_POINTS = 8
QUOTES = 6
#: A unit scoring above this (the heuristic's 0-100) gives a key point.
STRONG = 35


def _stamp(t: float) -> str:
    t = int(t)
    return f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"


def study_notes(transcript: Transcript, summary: Summary, *, title: str = "", audio: Any = None) -> str:
    from plugins.llm.cues import sentence_cues
    from plugins.llm.heuristic import FILLER_PENALTY, WEIGHTS, score_sentences

    transcript = speech_only(transcript, audio)
    sentences = split_sentences(transcript, pauses=find_pauses(audio))
    units = talk_units(sentences)
    scored = []
    for unit in units:
        cues = [sentence_cues(s.text) for s in unit]
        s = score_sentences(Candidate(start=unit[0].start, end=unit[-1].end), unit, cues, FILLER_PENALTY)
        raw = sum(s.sub[k] * w for k, w in WEIGHTS.items()) / sum(WEIGHTS.values())
        scored.append((raw - s.sub["filler"] * FILLER_PENALTY / 100, unit, cues))
    strong = sorted((x for x in scored if x[0] > STRONG), key=lambda x: -x[0])[:KEY_POINTS]
    points = []
    for _, unit, cues in sorted(strong, key=lambda x: x[1][0].start):
        best = max(
            zip(unit, cues, strict=True),
            key=lambda sc: 2 * sc[1].result + sc[1].contrast + sc[1].payoff + sc[1].claim - 3 * bool(sc[1].filler),
        )
        points.append(f"- {best[0].text.strip()} ({_stamp(best[0].start)})")
    quotes = []
    for s in sentences:
        c = sentence_cues(s.text)
        if c.filler or c.question or not (4 <= c.words <= QUOTE_WORDS):
            continue
        if c.contrast or c.payoff or c.result or (c.claim and c.words <= 12):
            quotes.append((2 * c.contrast + c.payoff + c.result + c.claim, s))
    picked = sorted(sorted(quotes, key=lambda q: -q[0])[:QUOTES], key=lambda q: q[1].start)
    lines = [f"# {title}" if title else "# Study notes", "", summary.to_markdown().rstrip(), "", "## Key points", ""]
    lines += points or ["- (no part of the talk stood out)"]
    lines += ["", "## Quotable lines", ""]
    lines += [f'> "{s.text.strip()}" ({_stamp(s.start)})' + "\n" for _, s in picked] or ["(none found)"]
    return "\n".join(lines).rstrip() + "\n"


def notes_for(app: Any, source: Any, *, stt: str | None = None, llm: str | None = None, reporter: Any = None) -> str:
    """Ingest (or reuse) a video, transcribe it (cached), and write its study notes."""
    from core import models
    from core.errors import InputError
    from core.pipeline.ingest import ensure_audio, ingest
    from core.pipeline.select import audio_path
    from core.pipeline.transcribe import transcribe

    if isinstance(source, int) and not isinstance(source, bool):
        with app.session() as s:
            video = s.get(models.Video, source)
        if video is None:
            raise InputError(f"there is no video with id {source}", "list videos with the API or ingest it first")
    else:
        video = ingest(app, source, reporter=reporter)
    ensure_audio(app, video, reporter=reporter, warm=app.stt(stt).warm)
    transcript = transcribe(app, video, backend=stt, reporter=reporter)
    if not transcript.words:
        raise InputError(f"no speech was found in {video.title or video.source!r}", "check that it has speech")
    audio = audio_path(app, video)
    with audio_context(audio):
        summary = app.selector(llm).summarize(speech_only(transcript, audio))
    return study_notes(transcript, summary, title=video.title or "", audio=audio)
