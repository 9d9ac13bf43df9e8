"""Build the labelled development set (espeak-ng speech) into a cache directory: `python bench/devset/build.py`.

Writes DIR/manifest.json and one WAV per talk (never committed). Then: `clipcast eval DIR/manifest.json`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.evaluation.devset import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/out/devset"), help="cache directory")
    parser.add_argument("talks", nargs="*", help="only the talks whose file name starts with these")
    args = parser.parse_args()
    print(build(args.out, args.talks or None))


if __name__ == "__main__":
    main()
