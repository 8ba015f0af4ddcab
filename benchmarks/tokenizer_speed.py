"""Batch tokenization speed: 10,000 sentences through `tokenizer(batch, padding=True, truncation=True)`.

Prints autoload's time and, when transformers is importable, transformers' fast tokenizer time on the
same folder and the ratio. Run: python benchmarks/tokenizer_speed.py [--folder PATH] [--sentences N] [--repeats R]
The default folder is the bert-base-uncased vocabulary in tests/fixtures/tokenizers/bert-uncased.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DEFAULT_FOLDER = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tokenizers", "bert-uncased")
WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will more can who out about up them some "
    "could what into than then my other time only new its over also two may after like way first our these any "
    "people over such years made because between each after under state world should life both long great "
    "checkpoint loading tokenizer hobbit ground lived quickly Brown fox jumps lazy dog, café naïve 2024 déjà-vu! "
    "numbers 3.14 emoji 🙂 questions? yes. no; maybe: well"
).split()


def sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40))) for _ in range(count)]


def best_time(function, repeats: int) -> float:
    function()  # warm up (thread pool, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=DEFAULT_FOLDER)
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    batch = sentences(args.sentences)
    call = dict(padding=True, truncation=True, max_length=128)

    from autoload.tokenization import AutoTokenizer

    ours = AutoTokenizer.from_pretrained(args.folder)
    if ours.pad_token is None:  # e.g. GPT-2: pad with the end-of-text token, as usual
        ours.pad_token = ours.eos_token
    our_time = best_time(lambda: ours(batch, **call), args.repeats)
    print(
        f"autoload     {type(ours).__name__}: {our_time * 1000:8.1f} ms for {len(batch)} sentences (best of {args.repeats})"
    )

    try:
        import transformers
    except ImportError:
        print("transformers is not installed: no comparison.")
        return
    theirs = transformers.AutoTokenizer.from_pretrained(args.folder, use_fast=True)
    if theirs.pad_token is None:
        theirs.pad_token = theirs.eos_token
    if theirs(batch[:50], **call)["input_ids"] != ours(batch[:50], **call)["input_ids"]:
        print("WARNING: transformers and autoload give different ids on this batch.")
    their_time = best_time(lambda: theirs(batch, **call), args.repeats)
    print(f"transformers {type(theirs).__name__} {transformers.__version__}: {their_time * 1000:8.1f} ms")
    print(f"ratio autoload / transformers: {our_time / their_time:.2f} (below 1 means autoload is faster)")


if __name__ == "__main__":
    main()
