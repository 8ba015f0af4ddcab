"""Cold-process loading: from_pretrained time and extra peak memory per framework and weight format, as ratios
to reading the same file into numpy with safetensors, beside transformers where it is importable.

Every timed load runs in a fresh interpreter that has already imported (and initialised, with one tiny op)
its framework and imported the Auto class from the library (autoload's is lazy: the backend and model code
are imported inside the timed call). The timer runs from the from_pretrained call until every weight is
usable (PyTorch: each parameter's pages read once; JAX: every array ready), in seconds of wall time and of
the process's CPU time (which other load on the machine disturbs less). Each row is the median of --repeats
fresh processes, after one untimed process that warms the page cache and Python's bytecode cache. Each
load's process runs right after a raw read's, and its "x raw" is the median of those pairs' ratios, so that
the machine's drift over minutes cancels. Peak memory is the process's high-water mark during the load minus
its resident size before it.

Checkpoints (random bert-base-sized BertModel, written once under the temp folder): float32 in every format,
the same sharded into 100 MB safetensors shards, and a bfloat16 safetensors copy, loaded as bfloat16
(PyTorch and Flax: dtype="auto"; TensorFlow: the Keras dtype policy "bfloat16").

With --recycle-mib, every measured process (raw reads included) first writes and frees that much memory, so
that its load faults in pages the guest kernel has just had back. On a VM whose free memory goes back to the
hypervisor (free page reporting), the first touch of such returned pages costs several times more, and how
many a process meets depends on what ran before it: a framework's import (TensorFlow's is 700 MB) uses up the
recently freed ones that a small raw-read process gets.

Also: the time to the first output (first forward pass on 1 x 128 tokens, compilation included) and the cost
of `import autoload.backends.<framework>` plus the first Auto class resolution on top of the framework import.

    python benchmarks/load.py                    # autoload alone
    /path/to/venv-with-transformers/bin/python benchmarks/load.py   # adds the transformers column
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import bert_base_checkpoint, has_module  # noqa: E402

FRAMEWORK_SETUP = {
    "numpy": "import numpy",
    "torch": "import torch; torch.zeros(1).sum()",
    "tf": "import tensorflow as tf, keras; tf.zeros(1).numpy()",
    "flax": "import jax, flax; jax.numpy.zeros(1).block_until_ready()",
}
# Reading every parameter once, so that no lazily mapped weight looks loaded before it is.
TOUCH = {
    "torch": "import torch\nwith torch.no_grad():\n    [float(p.detach().reshape(-1)[::1024].sum()) "
             "for p in (result[0] if isinstance(result, tuple) else result).parameters()]",
    "tf": "",
    "flax": "jax.block_until_ready((result[0] if isinstance(result, tuple) else result).params)",
    "numpy": "",
}  # fmt: skip
AUTO = {"torch": "AutoModel", "tf": "TFAutoModel", "flax": "FlaxAutoModel"}
NAME = {"torch": "PyTorch", "tf": "TensorFlow", "flax": "Flax"}
NATIVE = {"torch": "pytorch_model.bin", "tf": "tf_model.h5", "flax": "flax_model.msgpack"}

RUNNER = r"""
import json, os, resource, sys, time
{setup}
{recycle}
def resident_kib():
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # restart the high-water mark from the current resident size
except OSError:
    pass
before, _ = resident_kib()
start, cpu_start = time.perf_counter(), time.process_time()
{action}
{touch}
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
_, peak = resident_kib()
print("RESULT " + json.dumps({{"seconds": seconds, "cpu": cpu, "peak_mib": (peak - before) / 1024}}))
"""


# --recycle-mib (see the module's docstring): run before the timer
RECYCLE = """import mmap
_pages = mmap.mmap(-1, {mib} << 20)
with open("/dev/zero", "rb") as _zero:
    _zero.readinto(_pages)
_pages.close()
del _pages
"""


def run_once(python: str, setup: str, action: str, touch: str = "", recycle_mib: int = 0) -> dict:
    recycle = RECYCLE.format(mib=recycle_mib) if recycle_mib else ""
    code = RUNNER.format(setup=setup, recycle=recycle, action=action, touch=touch)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_VERBOSITY": "error"}  # fmt: skip
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's installed packages have their bytecode cached
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, timeout=900)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (out.stderr.strip().splitlines() or ["failed"])[-1]
    return {"error": tail[:200]}


def measure(python: str, setup: str, action: str, touch: str, repeats: int, baseline: tuple | None = None,
            recycle_mib: int = 0) -> dict:
    """Median of `repeats` fresh processes, after one warm-up process. With a baseline (setup, action), each
    process runs right after a baseline process, and x_seconds / x_cpu are the medians of the pairs' ratios:
    this machine's speed drifts over minutes (other tenants, page-cache reclaim), and a pair sees one speed."""
    warm = run_once(python, setup, action, touch, recycle_mib)
    if "error" in warm:
        return warm
    runs, ratios = [], []
    for _ in range(repeats):
        base = run_once(python, *baseline, recycle_mib=recycle_mib) if baseline else None
        runs.append(run_once(python, setup, action, touch, recycle_mib))
        if base and "error" not in base and "error" not in runs[-1]:
            ratios.append({key: runs[-1][key] / base[key] for key in ("seconds", "cpu")})
    errors = [r for r in runs if "error" in r]
    if errors:
        return errors[0]
    result = {key: statistics.median(r[key] for r in runs) for key in ("seconds", "cpu", "peak_mib")}
    if ratios:
        result.update({f"x_{key}": statistics.median(r[key] for r in ratios) for key in ("seconds", "cpu")})
    return result


# -- checkpoints ---------------------------------------------------------------------------------------------
def checkpoints(root: str) -> dict[str, str]:
    """{"float32": folder with every format, "sharded": 100 MB safetensors shards, "bfloat16": BF16 safetensors}"""
    from autoload.weights import SafetensorsReader, write_safetensors, write_sharded

    base = bert_base_checkpoint(os.path.join(root, "bert-base"))
    add_other_formats(base)
    source = os.path.join(base, "model.safetensors")
    folders = {"float32": base, "sharded": os.path.join(root, "bert-base-sharded"),
               "bfloat16": os.path.join(root, "bert-base-bf16")}  # fmt: skip
    config = json.load(open(os.path.join(base, "config.json")))
    if not os.path.exists(os.path.join(folders["sharded"], "model.safetensors.index.json")):
        os.makedirs(folders["sharded"], exist_ok=True)
        write_sharded(SafetensorsReader(source), folders["sharded"], "safetensors", "100MB")
        json.dump(config, open(os.path.join(folders["sharded"], "config.json"), "w"))
    if not os.path.exists(os.path.join(folders["bfloat16"], "model.safetensors")):
        import ml_dtypes

        os.makedirs(folders["bfloat16"], exist_ok=True)
        reader = SafetensorsReader(source)
        write_safetensors({k: reader[k].astype(ml_dtypes.bfloat16) for k in reader},
                          os.path.join(folders["bfloat16"], "model.safetensors"))  # fmt: skip
        json.dump({**config, "dtype": "bfloat16"}, open(os.path.join(folders["bfloat16"], "config.json"), "w"))
    return folders


def add_other_formats(folder: str) -> None:
    """pytorch_model.bin, tf_model.h5 and flax_model.msgpack beside the safetensors (once)."""
    from autoload.commands.convert import convert_checkpoint

    for target, name in (("pt", "pytorch_model.bin"), ("tf", "tf_model.h5"), ("flax", "flax_model.msgpack")):
        if os.path.exists(os.path.join(folder, name)):
            continue
        out = folder + "-" + target
        try:
            if not os.path.exists(out):
                convert_checkpoint(folder, to=target, out=out, progress=False)
            os.link(os.path.join(out, name), os.path.join(folder, name))
        except Exception as exc:  # noqa: BLE001 - a missing framework only drops rows
            print(f"(no {name}: {exc})")


def size_mib(folder: str, files: list[str]) -> float:
    return sum(os.path.getsize(os.path.join(folder, f)) for f in files) / 2**20


# -- rows ----------------------------------------------------------------------------------------------------
def load_rows(folders: dict[str, str]) -> list[dict]:
    """One dict per measured load: label, checkpoint, framework, setup/action for autoload and transformers."""
    rows = []

    def add(label, checkpoint, framework, ours, theirs=None):
        """ours / theirs: (import line, run before the timer; the timed from_pretrained call)"""
        rows.append({"label": label, "checkpoint": checkpoint, "framework": framework, "ours": ours, "theirs": theirs})

    for checkpoint, folder in folders.items():
        path = repr(folder)
        if checkpoint == "sharded":
            shards = repr(sorted(f for f in os.listdir(folder) if f.endswith(".safetensors")))
            raw = (f"from safetensors.numpy import load_file\nresult = [load_file(os.path.join({path}, f)) "
                   f"for f in {shards}]")  # fmt: skip
        else:
            raw = f"from safetensors.numpy import load_file\nresult = load_file({path} + '/model.safetensors')"
        if checkpoint == "bfloat16":
            raw = "import ml_dtypes\n" + raw
        add("raw read: safetensors -> numpy", checkpoint, "numpy", ("", raw))
        kinds = [("model.safetensors", "")]
        if checkpoint == "float32":
            kinds.append(("native", "use_safetensors=False"))
        for framework in ("torch", "tf", "flax"):
            for fmt, flag in kinds:
                native = NATIVE[framework]
                if fmt == "native" and not os.path.exists(os.path.join(folder, native)):
                    continue
                shown = native if fmt == "native" else ("sharded model.safetensors" if checkpoint == "sharded"
                                                         else "model.safetensors")  # fmt: skip
                options = [flag] if flag else []
                if checkpoint == "bfloat16" and framework == "torch":
                    options.append("dtype='auto'")
                if checkpoint == "bfloat16" and framework == "flax":
                    options.append("dtype='auto'")
                args = ", ".join([path, *options])
                imports = f"from autoload import {AUTO[framework]}"
                if checkpoint == "bfloat16" and framework == "tf":  # Keras' way to ask for bfloat16 weights
                    imports += "\nkeras.config.set_dtype_policy('bfloat16')"
                ours = (imports, f"result = {AUTO[framework]}.from_pretrained({args})")
                theirs = None
                if framework in ("torch", "tf"):
                    their_options = [o.replace("dtype=", "torch_dtype=") for o in options] if framework == "torch" \
                        else [o for o in options if not o.startswith("dtype")]
                    their_args = ", ".join([path, *their_options])
                    theirs = (f"from transformers import {AUTO[framework]}",
                              f"result = {AUTO[framework]}.from_pretrained({their_args})")  # fmt: skip
                add(f"{NAME[framework]} <- {shown}", checkpoint, framework, ours, theirs)
            if checkpoint != "float32":
                continue
            for other, flag in (("torch", "from_pt"), ("tf", "from_tf"), ("flax", "from_flax")):  # cross-loading
                if other != framework and os.path.exists(os.path.join(folder, NATIVE[other])):
                    ours = (f"from autoload import {AUTO[framework]}",
                            f"result = {AUTO[framework]}.from_pretrained({path}, use_safetensors=False, {flag}=True)")
                    add(f"{NAME[framework]} <- {NATIVE[other]}, {flag}=True", checkpoint, framework, ours)
    return rows


def first_output_rows(folder: str, cache: str) -> list[dict]:
    """The first and the next forward pass after loading (compilation included in the first), eager in every
    framework, and for Flax also under jax.jit and with JAX's persistent compilation cache (warmed by the
    untimed process that precedes the timed ones)."""
    inputs = "import numpy as np\nids = np.ones((1, 128), dtype=np.int32)\n"
    jit = ("apply = jax.jit(lambda params, ids: model.module.apply({'params': params}, input_ids=ids)"
           ".last_hidden_state)\n")  # fmt: skip
    persistent = (f"jax.config.update('jax_compilation_cache_dir', {cache!r})\n"
                  "jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)\n"
                  "jax.config.update('jax_persistent_cache_min_entry_size_bytes', 0)\n")  # fmt: skip
    cases = [
        ("PyTorch", "torch", "", "import torch\nwith torch.no_grad():\n    out = model(input_ids=torch.from_numpy(ids).long())"),
        ("TensorFlow", "tf", "", "out = model(input_ids=ids)\nfloat(out.last_hidden_state[0, 0, 0])"),
        ("Flax", "flax", "", "out = model(input_ids=ids)\njax.block_until_ready(out.last_hidden_state)"),
        ("Flax, persistent compilation cache", "flax", persistent,
         "out = model(input_ids=ids)\njax.block_until_ready(out.last_hidden_state)"),
        ("Flax, jax.jit", "flax", jit, "apply(model.params, ids).block_until_ready()"),
        ("Flax, jax.jit + persistent cache", "flax", persistent + jit, "apply(model.params, ids).block_until_ready()"),
    ]  # fmt: skip
    rows = []
    for label, framework, extra, call in cases:
        load = f"from autoload import {AUTO[framework]}\nmodel = {AUTO[framework]}.from_pretrained({folder!r})\n"
        setup = FRAMEWORK_SETUP[framework] + "\n" + extra + load + inputs
        rows.append({"label": label, "framework": framework, "setup": setup, "call": call})
    return rows


def import_rows(folder: str) -> list[dict]:
    config = f"from autoload import AutoConfig\nconfig = AutoConfig.from_pretrained({folder!r})"
    rows = []
    for framework in ("torch", "tf", "flax"):
        auto = AUTO[framework]
        action = (f"import autoload.backends.{framework}\nimport autoload\n{config}\n"
                  f"cls = autoload.{auto}.model_class_for(config)")  # fmt: skip
        rows.append({"framework": framework, "setup": FRAMEWORK_SETUP[framework], "action": action})
    return rows


# -- report --------------------------------------------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    versions = []
    for module in ("torch", "tensorflow", "jax", "transformers"):
        if has_module(module):
            versions.append(f"{module} {__import__(module).__version__}")
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, " + ", ".join(versions)


def markdown(report: dict) -> str:
    """README's tables from a --json report."""
    recycled = report.get("recycle_mib")
    setting = f" Each process wrote and freed {recycled} MiB before its timer (--recycle-mib)." if recycled else ""
    lines = [f"Machine: {report['machine']}.{setting}", "",
             f"| load (fresh process, median of {report.get('repeats', 3)}) | seconds | × raw read (paired) | "
             "CPU seconds | × raw read (CPU) | peak memory × checkpoint | transformers 4.57.6, seconds |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    names = {"float32": "float32", "sharded": "float32, 5 shards", "bfloat16": "bfloat16"}
    for row in report["load"]:
        theirs = row.get("transformers")
        shown = "–" if theirs is None else "fails" if "error" in theirs else f"{theirs['seconds']:.2f}"
        label = f"{row['label']} ({names[row['checkpoint']]})".replace("->", "→").replace("<-", "←")
        lines.append(f"| {label} | {row['seconds']:.2f} | {row['x_raw']:.2f} | {row['cpu']:.2f} | "
                     f"{row['x_raw_cpu']:.2f} | {row['x_checkpoint']:.2f} | {shown} |")  # fmt: skip
    lines += ["", "| first output after loading, 1 × 128 tokens | first call, s (CPU s) | next call, s (CPU s) |",
              "|---|---|---|"]  # fmt: skip
    for row in report["first"]:
        first, after = row["first"], row["next"]
        lines.append(f"| {row['label']} | {first['seconds']:.2f} ({first['cpu']:.2f}) | "
                     f"{after['seconds']:.2f} ({after['cpu']:.2f}) |")  # fmt: skip
    if report["import"]:
        lines += ["", "`import autoload.backends.<framework>` plus the first Auto class resolution, on top of importing "
                  "the framework: " + ", ".join(f"{NAME[r['framework']]} {r['seconds']:.2f} s (CPU {r['cpu']:.2f} s)"
                                                for r in report["import"] if "seconds" in r) + "."]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--root", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "autoload-bench-load"))
    parser.add_argument("--only", default="load,first,import", help="sections: load, first, import")
    parser.add_argument("--recycle-mib", type=int, default=0, help="before its timer, each process writes and "
                        "frees this much memory (0: off); see RECYCLE")
    parser.add_argument("--match", help="measure only the load rows whose label contains this (and the raw reads)")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--markdown", metavar="JSON", help="print README's tables from a --json file and exit")
    args = parser.parse_args()
    if args.markdown:
        with open(args.markdown) as f:
            print(markdown(json.load(f)))
        return
    python = sys.executable
    with_transformers = has_module("transformers")
    available = {"numpy": True, "torch": has_module("torch"), "tf": has_module("tensorflow"),
                 "flax": has_module("flax")}  # fmt: skip
    folders = checkpoints(args.root)
    print(f"machine: {machine()}")
    files = {"float32": ["model.safetensors"], "sharded": [f for f in os.listdir(folders["sharded"])
                                                           if f.endswith(".safetensors")],
             "bfloat16": ["model.safetensors"]}  # fmt: skip
    sizes = {name: size_mib(folders[name], files[name]) for name in folders}
    print("checkpoints: random bert-base-sized BertModel; " + ", ".join(
        f"{name} {sizes[name]:.0f} MiB" for name in folders) + f"; fresh process per load, median of {args.repeats}")
    report = {"machine": machine(), "sizes": sizes, "repeats": args.repeats, "recycle_mib": args.recycle_mib,
              "load": [], "first": [], "import": []}  # fmt: skip
    sections = set(args.only.split(","))

    if "load" in sections:
        header = f"\n{'load':<44} {'seconds':>8} {'x raw':>6} {'cpu s':>6} {'x raw':>6} {'peak MiB':>9} {'x ckpt':>7}"
        print(header + (f" {'transformers s':>15} {'x transformers':>15}" if with_transformers else ""))
        raw = {}  # checkpoint -> the raw read's (setup, action), run beside each of its loads
        for row in load_rows(folders):
            if not available[row["framework"]]:
                continue
            if args.match and row["framework"] != "numpy" and args.match not in row["label"]:
                continue
            setup = FRAMEWORK_SETUP[row["framework"]]
            baseline = raw.get(row["checkpoint"])
            ours = measure(python, setup + "\n" + row["ours"][0], row["ours"][1], TOUCH[row["framework"]], args.repeats,
                           baseline, args.recycle_mib)  # fmt: skip
            label = f"[{row['checkpoint']}] {row['label']}"
            if "error" in ours:
                print(f"{label:<44} failed: {ours['error']}")
                continue
            if row["framework"] == "numpy":
                raw[row["checkpoint"]] = (setup + "\n" + row["ours"][0], row["ours"][1])
            ratio, cpu_ratio = (ours.get(f"x_{k}", 1.0) for k in ("seconds", "cpu"))
            line = (f"{label:<44} {ours['seconds']:8.3f} {ratio:6.2f} {ours['cpu']:6.3f} {cpu_ratio:6.2f} "
                    f"{ours['peak_mib']:9.0f} {ours['peak_mib'] / sizes[row['checkpoint']]:7.2f}")  # fmt: skip
            entry = {**{k: row[k] for k in ("label", "checkpoint", "framework")}, **ours, "x_raw": ratio,
                     "x_raw_cpu": cpu_ratio, "x_checkpoint": ours["peak_mib"] / sizes[row["checkpoint"]]}  # fmt: skip
            if with_transformers and row["theirs"]:
                theirs = measure(python, setup + "\n" + row["theirs"][0], row["theirs"][1], TOUCH[row["framework"]],
                                 args.repeats, recycle_mib=args.recycle_mib)  # fmt: skip
                entry["transformers"] = theirs
                if "error" in theirs:
                    line += f" transformers failed: {theirs['error'][:60]}"
                else:
                    line += f" {theirs['seconds']:15.3f} {ours['seconds'] / theirs['seconds']:15.2f}"
                    entry["transformers"] = theirs
            print(line, flush=True)
            report["load"].append(entry)

    if "first" in sections:
        print(f"\n{'first output after loading (1 x 128 tokens)':<44} {'first call s':>12} {'cpu s':>6} "
              f"{'next call s':>12} {'cpu s':>6}")  # fmt: skip
        cache = os.path.join(args.root, "jax-compilation-cache")
        shutil.rmtree(cache, ignore_errors=True)
        for row in first_output_rows(folders["float32"], cache):
            if not available[row["framework"]]:
                continue
            first = measure(python, row["setup"], row["call"], "", args.repeats)
            after = measure(python, row["setup"] + "\n" + row["call"], row["call"], "", args.repeats)
            if "error" in first or "error" in after:
                print(f"{row['label']:<44} failed: {first.get('error') or after.get('error')}")
                continue
            print(f"{row['label']:<44} {first['seconds']:12.3f} {first['cpu']:6.2f} {after['seconds']:12.3f} "
                  f"{after['cpu']:6.2f}", flush=True)  # fmt: skip
            report["first"].append({"label": row["label"], "first": first, "next": after})

    if "import" in sections:
        print(f"\n{'import autoload.backends.X + first Auto resolution':<52} {'seconds':>8}")
        for row in import_rows(folders["float32"]):
            if not available[row["framework"]]:
                continue
            result = measure(python, row["setup"], row["action"], "", args.repeats)
            shown = result.get("error") or f"{result['seconds']:8.3f} (cpu {result['cpu']:.3f})"
            print(f"{'on top of importing ' + NAME[row['framework']]:<52} {shown}", flush=True)
            report["import"].append({"framework": row["framework"], **result})

    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
