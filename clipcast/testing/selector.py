"""``SelectorContract``: the selection smoke harness every clip selector runs.

Subclass it (a ``Test...`` class) and provide a ``selector`` fixture. The harness builds a timed transcript of
``TALK`` (about 100 s of sentences with pauses), asks the core for its sentence-aligned candidates, calls
``select`` and ``summarize``, and checks that the plans are well formed (inside the transcript, scores 0-100, a title
or caption), that they survive the core's own validation, and that the
summary's chapters lie inside the video.
"""

from __future__ import annotations

from clipcast import ClipPlan, ClipSelector, Segment, SelectionRequest, Summary, Transcript, Word

TALK = [
    "Welcome back to the show.",
    "Today I want to tell you the one habit that changed how I work.",
    "Most people think productivity is about doing more things in less time.",
    "That is wrong, and here is why.",
    "The secret is to decide what not to do before the day starts.",
    "I tried this for a year and my output doubled.",
    "Let me show you exactly how to set it up in five minutes.",
    "First, write down everything you plan to do tomorrow.",
    "Then cross out half of it, the half that nobody would miss.",
    "You will be surprised how little of your list actually matters.",
    "Second, protect the first two hours of your morning.",
    "No email, no meetings, no phone.",
    "That is where the real work happens.",
    "Finally, review the week every Friday and keep what worked.",
    "Thanks for watching, and see you next time.",
]


def talk_transcript(sentences: list[str] = TALK, *, word_seconds: float = 0.4, pause: float = 0.8) -> Transcript:
    """A timed transcript: each word ``word_seconds`` long, ``pause`` seconds between sentences."""
    t, segments = 0.0, []
    for sentence in sentences:
        words = []
        for text in sentence.split():
            words.append(Word(text=" " + text, start=round(t, 3), end=round(t + word_seconds * 0.9, 3)))
            t += word_seconds
        segments.append(Segment(start=words[0].start, end=words[-1].end, text=sentence, words=words))
        t += pause
    return Transcript(language="en", duration=round(t, 3), segments=segments, backend="harness")


class SelectorContract:
    request = SelectionRequest(clips=3, min_seconds=8, max_seconds=30)

    def test_is_a_clip_selector(self, selector: ClipSelector) -> None:
        assert isinstance(selector, ClipSelector) and selector.name

    def test_select_returns_well_formed_plans_that_survive_validation(self, selector: ClipSelector) -> None:
        from core.pipeline.candidates import core_candidates
        from core.pipeline.select import validate_plans

        transcript = talk_transcript()
        candidates = core_candidates(transcript, self.request)
        assert candidates, "the harness transcript must give candidates"
        plans = selector.select(transcript, candidates, self.request)
        assert plans, "no plans for a transcript with clear candidates"
        for plan in plans:
            assert isinstance(plan, ClipPlan)
            assert 0 <= plan.start < plan.end <= transcript.duration, plan
            assert 0 <= plan.score <= 100
            assert plan.title or plan.caption, "a plan needs a title or a caption to post"
        kept = validate_plans(plans, transcript, self.request)
        assert kept, "the core's validation dropped every plan"

    def test_summarize_gives_chapters_inside_the_video(self, selector: ClipSelector) -> None:
        transcript = talk_transcript()
        summary = selector.summarize(transcript)
        assert isinstance(summary, Summary) and summary.summary.strip()
        assert all(0 <= c.start <= transcript.duration for c in summary.chapters)
        assert summary.to_markdown().startswith("## Summary")
