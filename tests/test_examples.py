"""examples/vision_tasks.py runs as users run it: every vision family of issue #16 loads its tiny fixture
checkpoint, predicts on the test image and post-processes back to the image's size. Flax is left out here (its
first calls compile each model: about a minute for the eleven); its models and post-processing are covered by
tests/test_parity.py and the pipeline tests. examples/text_to_speech.py and examples/multimodal_tasks.py (captioning,
visual, table and document question answering) run here too, the latter in all three frameworks (about 5 s in
PyTorch, 10 s in TensorFlow, 35 s in Flax, which compiles each model and generation loop)."""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "vision_tasks.py"
FAMILIES = ["ObjectDetection", "ImageSegmentation", "SemanticSegmentation", "InstanceSegmentation",
            "UniversalSegmentation", "DepthEstimation", "ImageToImage", "KeypointDetection", "MaskGeneration",
            "ZeroShotObjectDetection", "VideoClassification"]  # fmt: skip
MAPS = ["ImageSegmentation", "SemanticSegmentation", "InstanceSegmentation", "UniversalSegmentation",
        "DepthEstimation", "MaskGeneration"]  # fmt: skip
MODULE = {"torch": "torch", "tf": "tensorflow"}


@pytest.mark.parametrize("framework", sorted(MODULE))
def test_vision_tasks_example_runs_every_family(framework):
    if importlib.util.find_spec(MODULE[framework]) is None:
        pytest.skip(f"{MODULE[framework]} is not installed")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--framework", framework], capture_output=True, text=True,
                          env=env, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert sorted(lines) == sorted(FAMILIES), done.stdout
    for family in MAPS:  # post-processing resizes to the 640x480 test image
        assert "480x640" in lines[family], (family, lines[family])
    assert lines["ImageToImage"].startswith("24x18 -> 48x36"), lines["ImageToImage"]
    assert lines["ZeroShotObjectDetection"].split(" boxes")[0].isdigit(), lines["ZeroShotObjectDetection"]


TTS_SCRIPT = SCRIPT.parent / "text_to_speech.py"


@pytest.mark.parametrize("framework", sorted(MODULE))
def test_text_to_speech_example_synthesises_and_writes_wavs(framework, tmp_path):
    """VITS and SpeechT5 + HiFi-GAN from text to a WAV file. The tiny VITS checkpoint has no noise, so its sample
    count is transformers' for this text (tests/fixtures/text_to_speech/vits, case "one": 140 samples)."""
    import wave

    if importlib.util.find_spec(MODULE[framework]) is None:
        pytest.skip(f"{MODULE[framework]} is not installed")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    command = [sys.executable, str(TTS_SCRIPT), "--framework", framework, "--text", "Speech, 2 words",
               "--out-dir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert sorted(lines) == ["speecht5", "vits"], done.stdout
    assert lines["vits"].startswith("140 samples at 16000 Hz"), lines["vits"]
    for name, line in lines.items():
        with wave.open(str(tmp_path / f"{name}.wav"), "rb") as audio:
            assert audio.getframerate() == 16000 and audio.getnchannels() == 1
            assert audio.getnframes() == int(line.split(" samples")[0]) > 0


MULTIMODAL_SCRIPT = SCRIPT.parent / "multimodal_tasks.py"
MULTIMODAL_TASKS = ["ImageCaptioning", "ImageCaptioningEncoderDecoder", "VisualQuestionAnswering",
                    "VisualQuestionAnsweringGenerate", "TableQuestionAnswering",
                    "DocumentQuestionAnswering"]  # fmt: skip
MULTIMODAL_MODULES = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
GENERATED = re.compile(r"^(?:'[^']*' -> )?(?P<text>'.*'|\".*\") \((?P<tokens>\d+) tokens\)$")


@functools.cache
def run_multimodal_example(framework: str) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, str(MULTIMODAL_SCRIPT), "--framework", framework], capture_output=True,
                          text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)


@pytest.fixture(scope="session")
def multimodal_lines(tmp_path_factory, worker_id):
    """run_multimodal_example, each framework run once per test session: the TF and Flax cases compare with
    PyTorch's lines, so under pytest-xdist the workers share each run's lines through a file (the first to need
    them runs the script, holding a lock, the others wait and read them)."""
    if worker_id == "master":  # one process: its own cache is the session's
        return run_multimodal_example
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent  # this session's folder, above every worker's own

    def lines(framework: str) -> dict[str, str]:
        path = shared / f"multimodal-example-{framework}.json"
        with FileLock(str(path) + ".lock"):
            if not path.is_file():
                path.write_text(json.dumps(run_multimodal_example(framework)))
            return json.loads(path.read_text())

    return lines


@pytest.mark.parametrize("framework", sorted(MULTIMODAL_MODULES))
def test_multimodal_example_runs_every_task(framework, multimodal_lines):
    """Captioning (BLIP, ViT + GPT-2), visual QA (ViLT labels, BLIP generation), table QA (TAPAS) and document QA
    (LayoutLMv3) from the tiny fixture checkpoints: every line has its task's shape, the answers come from the
    config's labels, the table's cells and the document's words, and they are PyTorch's (the same weights and greedy
    decoding give the same answers in every framework; printed scores are left out of that comparison)."""
    if importlib.util.find_spec(MULTIMODAL_MODULES[framework]) is None:
        pytest.skip(f"{MULTIMODAL_MODULES[framework]} is not installed")
    spec = importlib.util.spec_from_file_location("multimodal_tasks", MULTIMODAL_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    lines = multimodal_lines(framework)
    assert sorted(lines) == sorted(MULTIMODAL_TASKS), lines

    for task in ("ImageCaptioning", "ImageCaptioningEncoderDecoder", "VisualQuestionAnsweringGenerate"):
        found = GENERATED.match(lines[task])
        assert found and isinstance(ast.literal_eval(found["text"]), str), (task, lines[task])
        assert 1 < int(found["tokens"]) <= 1 + 8, (task, lines[task])  # start token + up to --max-new-tokens 8

    config = json.loads((script.FIXTURES / "models/vilt/ViltForQuestionAnswering/config.json").read_text())
    found = re.fullmatch(r"'(.*)' -> '(.*)' \(score (\S+) of (\d+) answers\)", lines["VisualQuestionAnswering"])
    assert found, lines["VisualQuestionAnswering"]
    assert found[2] in config["id2label"].values() and 0 < float(found[3]) < 1
    assert int(found[4]) == len(config["id2label"])

    found = re.fullmatch(r"'.*' -> cells (\[.*\]) at (\[.*\]), aggregation (\w+)", lines["TableQuestionAnswering"])
    assert found, lines["TableQuestionAnswering"]
    cells, coordinates = ast.literal_eval(found[1]), ast.literal_eval(found[2])
    assert cells, "the tiny TAPAS checkpoint selects a cell for the default question; none came back"
    assert cells == [script.TABLE[row + 1][column] for row, column in coordinates]
    assert found[3] in script.WTQ_AGGREGATIONS.values()

    found = re.fullmatch(r"'.*' -> '(.*)' \(tokens (\d+)-(\d+), score \S+\)", lines["DocumentQuestionAnswering"])
    assert found and int(found[2]) <= int(found[3]), lines["DocumentQuestionAnswering"]
    words = found[1].split(" ")
    spans = [script.WORDS[i : i + len(words)] for i in range(len(script.WORDS))]
    assert words in spans, (words, script.WORDS)

    if framework != "torch" and importlib.util.find_spec("torch") is not None:
        def unscored(found: dict) -> dict:
            return {task: re.sub(r"score -?\d+\.\d+", "score", line) for task, line in found.items()}

        assert unscored(lines) == unscored(multimodal_lines("torch"))
