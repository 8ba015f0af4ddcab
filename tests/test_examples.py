"""examples/vision_tasks.py runs as users run it: every vision family of issue #16 loads its tiny fixture
checkpoint, predicts on the test image and post-processes back to the image's size. Flax is left out here (its
first calls compile each model: about a minute for the eleven); its models and post-processing are covered by
tests/test_parity.py and the pipeline tests."""

from __future__ import annotations

import importlib.util
import os
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
