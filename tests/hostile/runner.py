"""Run hostile cases in one process under limits and report what happened to each, as JSON on stdout.

`python -m hostile.runner MANIFEST` (with tests/ on PYTHONPATH). The manifest lists the cases (name, folder,
loader), the folder no case may read from (`outside`), the modules to import first, a memory allowance on
top of what those imports take, and a CPU-time limit per case. Limits: the address space (RLIMIT_AS, so an
allocation sized by a crafted file fails here instead of exhausting the machine), file size 0 (RLIMIT_FSIZE,
so nothing can be written), and a timer per case. An audit hook records every open of a path under
`outside`, every open for writing, and every attempt to start a process or change the file system.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_CHANGE_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "shutil.rmtree", "os.truncate", "os.chmod",
                  "os.link", "os.symlink", "shutil.copyfile", "shutil.move", "os.utime"}  # fmt: skip
_PROCESS_EVENTS = {"os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "os.forkpty", "pty.spawn", "os.startfile"}  # fmt: skip


class CaseTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise CaseTimeout("the case ran past its CPU time limit")


def _virtual_memory() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def main(manifest_path: str) -> None:
    with open(manifest_path) as f:
        manifest = json.load(f)
    for module in manifest.get("preload", []):
        importlib.import_module(module)
    from hostile.loaders import load

    outside = os.path.realpath(manifest["outside"])
    events: list[dict] = []
    recording = [True]

    def audit(event: str, args) -> None:
        if not recording[0]:
            return
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None))[:3]
            path = os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path)
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and bool(flags & _WRITE_FLAGS))  # fmt: skip
            inside_outside = os.path.realpath(path).startswith(outside + os.sep) if path else False
            if writing or inside_outside:
                events.append({"event": "open", "path": path, "write": writing})
        elif event in _CHANGE_EVENTS or event in _PROCESS_EVENTS:
            events.append({"event": event, "args": repr(args)[:200]})

    sys.addaudithook(audit)
    signal.signal(signal.SIGPROF, _on_alarm)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the size limit fails instead of killing us
    if sys.platform.startswith("linux"):
        limit = _virtual_memory() + manifest["memory_mb"] * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    results = {}
    for case in manifest["cases"]:
        del events[:]
        start, cpu = time.perf_counter(), time.process_time()
        signal.setitimer(signal.ITIMER_PROF, manifest["seconds"])  # CPU time: a busy machine does not count
        try:
            value = load(case["loader"], case["folder"])
            outcome = {"outcome": "ok", "value": repr(value)[:200]}
        except BaseException as exc:  # noqa: BLE001 - every outcome is reported, judged by the test
            if isinstance(exc, KeyboardInterrupt):
                raise
            outcome = {"outcome": "error", "type": type(exc).__name__, "module": type(exc).__module__,
                       "message": str(exc)[:2000], "traceback": traceback.format_exc()[-3000:]}  # fmt: skip
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        outcome["seconds"] = round(time.process_time() - cpu, 3)
        outcome["wall_seconds"] = round(time.perf_counter() - start, 3)
        outcome["events"] = list(events)
        results[case["name"]] = outcome
    recording[0] = False
    sys.stdout.write(json.dumps(results))
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
