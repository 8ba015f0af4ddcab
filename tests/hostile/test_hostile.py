"""Every hostile case ends in autoload's own error, naming the file and the problem, within its time and memory
limits, without reading anything outside its folder, running anything or writing anything.

The corpus is generated (tests/hostile/corpus.py) and loaded in two subprocesses (one without any framework,
one with PyTorch for the cases that build a model), each case under the runner's limits (runner.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hostile.corpus import all_cases, build_corpus, controls, snapshot
from hostile.watch import FolderWatch

CASES = all_cases()
CONTROLS = controls()
MEMORY_MB = 1024  # on top of what the imports take: a bomb fails with MemoryError instead of taking the machine
SECONDS = 20  # CPU seconds per case; each takes well under one when it is refused before doing the work
TESTS = Path(__file__).resolve().parents[1]
PRELOAD = {"": ["autoload", "autoload.weights", "autoload.tokenization", "h5py", "msgpack", "tokenizers"],
           "torch": ["torch", "autoload", "autoload.backends.torch.modeling"]}  # fmt: skip


def _run(cases, folders: dict, outside: Path, root: Path, framework: str) -> tuple[dict, str]:
    manifest = root / f"manifest-{framework or 'core'}.json"
    manifest.write_text(json.dumps({
        "cases": [{"name": c.name, "loader": c.loader, "folder": str(folders[c.name])} for c in cases],
        "outside": str(outside), "preload": PRELOAD[framework], "memory_mb": MEMORY_MB, "seconds": SECONDS,
    }))  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "hostile.runner", str(manifest)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=root)  # fmt: skip
    if done.returncode != 0 or not done.stdout:
        return {}, done.stderr[-3000:]
    return json.loads(done.stdout), done.stderr[-3000:]


def _build_and_run(root: Path) -> dict:
    available = [c for c in CASES + CONTROLS if not c.framework or importlib.util.find_spec(c.framework) is not None]
    outside, folders = build_corpus(root, [c for c in available if c in CASES])
    for control in (c for c in available if c in CONTROLS):
        folders[control.name] = root / "controls" / control.name
        shutil.copytree(control.source, folders[control.name])
    before = {name: snapshot(folder) for name, folder in folders.items()}
    outside_before = snapshot(outside)
    watch = FolderWatch(outside)
    results, logs = {}, {}
    for framework in dict.fromkeys(c.framework for c in available):
        group = [c for c in available if c.framework == framework]
        outcome, logs[framework or "core"] = _run(group, folders, outside, root, framework)
        results.update(outcome)
    opened = sorted(watch.opened())
    watch.close()
    return {"results": results, "logs": logs, "folders": {k: str(v) for k, v in folders.items()}, "before": before,
            "outside": str(outside), "outside_before": outside_before, "opened": opened,
            "watched": watch.available}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Built and run once per test session: pytest-xdist workers share one run through a file lock."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above each worker's own
    report = shared / "hostile-corpus.json"
    with FileLock(str(report) + ".lock"):
        if not report.exists():
            root = shared / "hostile-corpus"
            root.mkdir()
            report.write_text(json.dumps(_build_and_run(root)))
    data = json.loads(report.read_text())
    data["before"] = {name: {k: tuple(v) for k, v in files.items()} for name, files in data["before"].items()}
    data["outside_before"] = {k: tuple(v) for k, v in data["outside_before"].items()}
    data["folders"] = {name: Path(folder) for name, folder in data["folders"].items()}
    data["outside"], data["opened"] = Path(data["outside"]), set(data["opened"])
    return data


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case_is_refused_cleanly(corpus, case):
    if case.framework:
        pytest.importorskip(case.framework)
    result = corpus["results"].get(case.name)
    assert result is not None, f"the runner did not report {case.name}; its log ends:\n{corpus['logs']}"
    assert result["outcome"] == "error", f"{case.name} loaded without an error: {result}"
    detail = f"{case.name} raised {result['module']}.{result['type']}: {result['message']}\n{result['traceback']}"
    assert (result["module"], result["type"]) == ("autoload.errors", case.error), detail
    assert case.file in result["message"], f"the message does not name {case.file}: {detail}"
    assert re.search(case.problem, result["message"], re.IGNORECASE | re.DOTALL), (
        f"the message does not say {case.problem!r}: {detail}")  # fmt: skip
    assert result["seconds"] < SECONDS / 2, f"{case.name} took {result['seconds']} s of CPU time"
    assert result["events"] == [], f"{case.name} read outside its folder, wrote or ran something: {result['events']}"
    assert corpus["before"][case.name] == snapshot(corpus["folders"][case.name]), f"{case.name}'s folder changed"


@pytest.mark.parametrize("control", CONTROLS, ids=[c.name for c in CONTROLS])
def test_valid_checkpoint_still_loads_under_the_same_limits(corpus, control):
    if control.framework:
        pytest.importorskip(control.framework)
    result = corpus["results"].get(control.name)
    assert result is not None, f"the runner did not report {control.name}; its log ends:\n{corpus['logs']}"
    assert result["outcome"] == "ok", f"{control.name} failed: {result.get('message')}\n{result.get('traceback')}"
    assert result["events"] == [], f"{control.name} wrote or ran something: {result['events']}"


def test_nothing_outside_the_checkpoint_folders_was_opened_or_changed(corpus):
    assert corpus["results"], f"the runners reported nothing; logs:\n{corpus['logs']}"
    if corpus["watched"]:  # the kernel's view, which also sees reads by HDF5 and the Rust tokenizers library
        assert corpus["opened"] == set()
    assert snapshot(corpus["outside"]) == corpus["outside_before"]  # includes: no "executed-*" marker appeared
