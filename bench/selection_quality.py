"""Selection quality on the labelled development set: the heuristic (and any configured or named LLM
selectors) beside the random-window and first-N-seconds baselines, all computed in the same run.

    .venv/bin/python bench/selection_quality.py [--llm NAME ...] [--config clipcast.yaml] [--manifest PATH]

Builds the development set first when it is missing (bench/devset/build.py, espeak-ng). Transcripts are cached
under the data directory's eval/ folder, so only the first run pays for speech-to-text. A configured
``llm.backend`` other than the heuristic is measured too; LLM selectors are measured live, so they need their
key or local server.

``--scale`` also prints how candidate generation grows with talk length: talk units and the runs of sentences
inside them, beside every sentence-aligned window across the talk (the generator before units, same run), for
synthetic one- and three-hour transcripts made of the development set's paragraphs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.app import Clipcast
from core.config import Settings, load_settings
from core.contracts import SelectionRequest
from core.evaluation.devset import build
from core.evaluation.manifest import load_manifest
from core.evaluation.run import build_selector, evaluate, format_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", action="append", default=[], help="also measure this selector (repeatable)")
    parser.add_argument("--config", help="a clipcast.yaml (default: embedded defaults, data in bench/out/)")
    parser.add_argument("--manifest", type=Path, help="a labelled manifest (default: the development set)")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--scale", action="store_true", help="also measure candidate counts for 1 h and 3 h")
    args = parser.parse_args()
    settings = load_settings(args.config) if args.config else Settings(data_dir=Path("bench/out/evaldata"))
    app = Clipcast(settings)
    manifest_path = args.manifest or build(Path("bench/out/devset"))
    manifest = load_manifest(manifest_path)
    names = ["heuristic", *args.llm]
    if settings.llm.backend not in names:
        names.append(settings.llm.backend)
    sel = settings.selection
    request = SelectionRequest(clips=5, min_seconds=sel.min_seconds, max_seconds=sel.max_seconds)
    results = {}
    for name in names:
        t0 = time.perf_counter()
        report = evaluate(app, manifest, build_selector(app, name), request, seeds=args.seeds)
        elapsed = time.perf_counter() - t0
        results[name] = report.as_dict() | {"seconds": round(elapsed, 1)}
        if not args.json:
            print(format_report(report))
            print(f"({name}: {elapsed:.1f} s including cached transcripts)\n")
    if args.json:
        print(json.dumps(results, indent=2))
    if args.scale:
        scale(request)


def scale(request: SelectionRequest) -> None:
    import yaml

    from core.contracts import Segment, Transcript, Word
    from core.evaluation.devset import talk_files
    from core.pipeline.candidates import _runs, core_candidates, split_sentences
    from plugins.llm.heuristic import HeuristicSelector

    paragraphs = [p["text"] for f in talk_files() for p in yaml.safe_load(f.read_text())["paragraphs"]]
    for hours in (1, 3):
        words, t, k = [], 0.0, 0
        while t < hours * 3600:  # 2.5 words/s, 0.4 s between sentences, 1.2 s between paragraphs
            for sentence in paragraphs[k % len(paragraphs)].replace("? ", "?|").replace(". ", ".|").split("|"):
                for token in sentence.split():
                    words.append(Word(text=f" {token}", start=round(t, 3), end=round(t + 0.32, 3)))
                    t += 0.4
                t += 0.4
            t += 1.2
            k += 1
        tr = Transcript(language="en", duration=t, segments=[Segment(start=0, end=t, text="", words=words)])
        t0 = time.perf_counter()
        cands = core_candidates(tr, request)
        t1 = time.perf_counter()
        HeuristicSelector().select(tr, cands, request.model_copy(update={"clips": 12}))
        t2 = time.perf_counter()
        across = _runs(split_sentences(tr), request, 3.0, source="core")
        print(
            f"{hours} h of speech: {len(cands)} candidates in {t1 - t0:.2f} s, scored in {t2 - t1:.2f} s; "
            f"every sentence window across the talk (before): {len(across)}"
        )


if __name__ == "__main__":
    main()
