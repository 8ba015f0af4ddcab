"""A short, fixed-seed Hypothesis run over every reader (tests/hostile/fuzz.py): each mutated input loads or
ends in one of autoload's errors, within the time and memory bounds. Long runs: `nox -s fuzz-readers`."""

from __future__ import annotations

import pytest

from hostile.fuzz import TARGETS, fuzz_test

EXAMPLES = 12  # per target; the long runs do the searching


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_mutated_files_load_or_raise_our_errors(target):
    if target.framework:
        pytest.importorskip(target.framework)
    fuzz_test(target, max_examples=EXAMPLES, derandomize=True)()
