"""The backend matrix. `nox -s torch tf flax` run the suite with one framework installed; `all` with every
framework; `lint` runs ruff; `demo` the demo; `parity` checks files we write against transformers 4.57.6; `fuzz`
and `fuzz-readers` run the long randomised checks."""

import os

import nox

nox.options.sessions = ["core", "torch", "tf", "flax", "all", "lint"]
TORCH = "torch==2.13.0"  # the CPU build; a bare "torch" pulls a multi-GB CUDA build


@nox.session
def core(session):
    """No framework at all: configs, registry, Hub resolution, weight files, tokenizers, processors."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def torch(session):
    session.install(TORCH)
    session.install("-e", ".[torch,test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def tf(session):
    session.install("-e", ".[tf,test]")
    session.run("pytest", "-q", *session.posargs, env={"KERAS_BACKEND": "tensorflow"})


@nox.session
def flax(session):
    session.install("-e", ".[flax,test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session(name="all")
def all_backends(session):
    session.install(TORCH)
    session.install("-e", ".[all,test]")
    session.run("pytest", "-q", *session.posargs, env={"KERAS_BACKEND": "tensorflow"})


@nox.session
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", "autoload", "backends", "tests", "benchmarks", "noxfile.py")


@nox.session
def demo(session):
    session.install(TORCH)
    session.install("-e", ".[all]")
    session.run("autoload", "demo", env={"KERAS_BACKEND": "tensorflow"})


@nox.session
def parity(session):
    """Optional: files autoload writes load in transformers 4.57.6 itself. Skipped where it cannot install."""
    session.install(TORCH)
    try:
        session.install("transformers==4.57.6", "tf-keras", "-e", ".[all,test]")
    except Exception:  # noqa: BLE001 - no registry access or no wheel for this platform
        session.skip("transformers 4.57.6 could not be installed here")
    session.run("pytest", "-q", "tests/parity", *session.posargs, env={"AUTOLOAD_PARITY": "1"})


@nox.session(name="fuzz-readers")
def fuzz_readers(session):
    """Long property-based fuzzing of every checkpoint reader (tests/hostile/fuzz.py), fresh random inputs each
    run: `nox -s fuzz-readers -- --seconds 600 --targets safetensors-bytes,h5-objects`. Writes fuzz-report.json."""
    session.install(TORCH)
    session.install("-e", ".[torch,test]")
    args = session.posargs or ["--seconds", "180"]
    session.run("python", "-m", "hostile.fuzz", *args,
                env={"PYTHONPATH": "tests", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})  # fmt: skip


@nox.session
def fuzz(session):
    """Many config-space draws per architecture (tests/test_config_space.py): PyTorch, TF and Flax must agree on
    every random config and through save/reload. `nox -s fuzz -- -k llama`; AUTOLOAD_FUZZ_DRAWS (default 50) and
    AUTOLOAD_FUZZ_SEED pick the draws, and a failure prints the seed that replays it."""
    session.install(TORCH)
    session.install("-e", ".[all,test]")
    draws = os.environ.get("AUTOLOAD_FUZZ_DRAWS", "50")
    session.run("pytest", "-q", "-n", "auto", "tests/test_config_space.py", *session.posargs,
                env={"AUTOLOAD_FUZZ_DRAWS": draws, "KERAS_BACKEND": "tensorflow", "HF_HUB_OFFLINE": "1"})  # fmt: skip
