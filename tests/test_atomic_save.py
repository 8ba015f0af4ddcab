"""Saving through a staging folder: an interrupted save never leaves a folder that loads as a mix of old and new."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autoload.atomic_save import MARKER, STAGING_PREFIX, staged_save
from autoload.errors import CheckpointFormatError
from autoload.weights import find_weights, open_weights, write_sharded

FIXTURES = Path(__file__).parent / "fixtures"


def _state(value: float) -> dict[str, np.ndarray]:
    return {f"layer{i}.weight": np.full((64, 64), value + i, np.float32) for i in range(4)}


def _loaded(folder) -> dict[str, np.ndarray]:
    state = open_weights(find_weights(folder, backend="torch"))
    return {name: np.asarray(state[name]) for name in state}


def _save(folder, state, max_shard_size="20KB") -> None:
    with staged_save(folder) as staging:
        (Path(staging) / "config.json").write_text(json.dumps({"model_type": "bert", "saved": float(state["layer0.weight"][0, 0])}))
        write_sharded(state, staging, "safetensors", max_shard_size)


def _run(script: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)  # fmt: skip


def test_a_new_folder_is_renamed_into_place_with_the_usual_permissions(tmp_path):
    _save(tmp_path / "out", _state(1.0))
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no staging folder left beside it
    np.testing.assert_array_equal(_loaded(tmp_path / "out")["layer3.weight"], _state(1.0)["layer3.weight"])
    os.mkdir(tmp_path / "plain")
    assert os.stat(tmp_path / "out").st_mode == os.stat(tmp_path / "plain").st_mode


def test_saving_over_a_folder_keeps_other_files_and_drops_the_old_files_of_the_format_written(tmp_path):
    folder = tmp_path / "ckpt"
    _save(folder, _state(1.0))  # sharded
    (folder / "tokenizer.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"another format, kept")
    with staged_save(folder) as staging:
        write_sharded(_state(2.0), staging, "safetensors", max_shard_size="1GB")  # one file now
    names = sorted(os.listdir(folder))
    assert names == ["config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json"]
    np.testing.assert_array_equal(_loaded(folder)["layer0.weight"], _state(2.0)["layer0.weight"])


def test_an_error_while_writing_leaves_the_folder_as_it_was(tmp_path):
    folder = tmp_path / "ckpt"
    _save(folder, _state(1.0))
    before = sorted(os.listdir(folder))
    with pytest.raises(RuntimeError), staged_save(folder) as staging:
        write_sharded(_state(2.0), staging, "safetensors", max_shard_size="20KB")
        raise RuntimeError("interrupted")
    assert sorted(os.listdir(folder)) == before
    np.testing.assert_array_equal(_loaded(folder)["layer2.weight"], _state(1.0)["layer2.weight"])


_KILL_AFTER_ONE_SHARD = """
    import os, sys, numpy as np
    import autoload.weights.safetensors_io as io
    sys.path.insert(0, {tests!r})
    from test_atomic_save import _save, _state
    original, written = io.write_safetensors, []
    def write(state, path, metadata=None):
        if written:
            os._exit(17)  # killed between shards
        written.append(path)
        original(state, path, metadata)
    io.write_safetensors = write
    _save({folder!r}, _state(2.0))
"""


def test_a_save_killed_between_shards_leaves_the_old_checkpoint_loadable_and_unmixed(tmp_path):
    folder = tmp_path / "ckpt"
    _save(folder, _state(1.0))
    done = _run(_KILL_AFTER_ONE_SHARD.format(tests=str(Path(__file__).parent), folder=str(folder)))
    assert done.returncode == 17, done.stderr
    loaded = _loaded(folder)
    for name, array in _state(1.0).items():
        np.testing.assert_array_equal(loaded[name], array)  # every tensor the old one
    assert json.loads((folder / "config.json").read_text())["saved"] == 1.0
    leftovers = [n for n in os.listdir(folder) if n.startswith(STAGING_PREFIX)]
    assert len(leftovers) == 1  # the dead save's staging folder, removed by the next save into the folder
    _save(folder, _state(3.0))
    assert not [n for n in os.listdir(folder) if n.startswith(STAGING_PREFIX)]
    np.testing.assert_array_equal(_loaded(folder)["layer1.weight"], _state(3.0)["layer1.weight"])


_KILL_WHILE_MOVING = """
    import os, sys
    import autoload.atomic_save as atomic
    sys.path.insert(0, {tests!r})
    from test_atomic_save import _save, _state
    original, moved = atomic._move, []
    def move(source, destination):
        if len(moved) == 2:
            os._exit(17)  # killed with some new files in place and some not
        moved.append(source)
        original(source, destination)
    atomic._move = move
    _save({folder!r}, _state(2.0))
"""


def test_a_save_killed_while_moving_files_in_is_refused_by_loads_and_finished_by_the_next_save(tmp_path):
    folder = tmp_path / "ckpt"
    _save(folder, _state(1.0))
    done = _run(_KILL_WHILE_MOVING.format(tests=str(Path(__file__).parent), folder=str(folder)))
    assert done.returncode == 17, done.stderr
    assert (folder / MARKER).exists()
    with pytest.raises(CheckpointFormatError, match="half-written: a save_pretrained into it was interrupted"):
        _loaded(folder)
    from autoload import AutoConfig

    with pytest.raises(CheckpointFormatError, match="half-written"):
        AutoConfig.from_pretrained(folder)
    with staged_save(folder):  # the next save into the folder first finishes the interrupted one
        assert not (folder / MARKER).exists()
        np.testing.assert_array_equal(_loaded(folder)["layer3.weight"], _state(2.0)["layer3.weight"])
    assert json.loads((folder / "config.json").read_text())["saved"] == 2.0


def test_staging_folders_of_live_processes_are_left_alone(tmp_path):
    folder = tmp_path / "ckpt"
    _save(folder, _state(1.0))
    live = folder / f"{STAGING_PREFIX}{os.getppid()}-abcd"
    dead = folder / f"{STAGING_PREFIX}{2**22 + 12345}-abcd"  # above the usual pid_max: no such process
    live.mkdir()
    dead.mkdir()
    _save(folder, _state(2.0))
    assert live.exists() and not dead.exists()


def test_torch_save_pretrained_killed_between_shards_keeps_the_old_model(tmp_path):
    torch = pytest.importorskip("torch")
    import autoload

    folder = tmp_path / "model"
    source = FIXTURES / "models" / "bert" / "BertModel"
    old = autoload.AutoModel.from_pretrained(source)
    old.save_pretrained(folder, max_shard_size="10KB")
    script = f"""
        import os, torch, autoload
        import autoload.weights.safetensors_io as io
        model = autoload.AutoModel.from_pretrained({str(source)!r})
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(1.0)
        original, written = io.write_safetensors, []
        def write(state, path, metadata=None):
            if len(written) == 2:
                os._exit(17)
            written.append(path)
            original(state, path, metadata)
        io.write_safetensors = write
        model.save_pretrained({str(folder)!r}, max_shard_size="10KB")
    """
    done = _run(script)
    assert done.returncode == 17, done.stderr
    reloaded = autoload.AutoModel.from_pretrained(folder)
    for (name, a), b in zip(old.state_dict().items(), reloaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_tokenizer_save_pretrained_returns_paths_in_the_folder_asked_for(tmp_path):
    from autoload import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / "bert-cased")
    written = tokenizer.save_pretrained(tmp_path / "tok")
    assert written and all(Path(p).parent == tmp_path / "tok" and Path(p).is_file() for p in written)
    again = tokenizer.save_pretrained(tmp_path / "tok")  # over an existing folder
    assert sorted(map(str, again)) == sorted(map(str, written))
    assert sorted(os.listdir(tmp_path / "tok")) == sorted(Path(p).name for p in written)


@pytest.mark.parametrize("kind", ["generation_config", "image_processor"])
def test_single_file_saves_never_leave_a_half_written_file(kind, tmp_path, monkeypatch):
    import autoload.atomic_save
    from autoload import AutoImageProcessor
    from autoload.generation import GenerationConfig

    if kind == "generation_config":
        first, second, name = GenerationConfig(max_length=7), GenerationConfig(max_length=9), "generation_config.json"
    else:
        first = AutoImageProcessor.from_pretrained(FIXTURES / "image_processors" / "vit")
        second, name = AutoImageProcessor.from_pretrained(FIXTURES / "image_processors" / "vit"), "preprocessor_config.json"
        second.image_mean = [0.25, 0.25, 0.25]
    first.save_pretrained(tmp_path)
    before = (tmp_path / name).read_text()

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(autoload.atomic_save.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        second.save_pretrained(tmp_path)
    assert (tmp_path / name).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
