"""Synthesise a short waveform from text, two ways, in PyTorch, TensorFlow or Flax:

- VITS (MMS-TTS): AutoTokenizer -> AutoModelForTextToWaveform -> `waveform`.
- SpeechT5: AutoProcessor -> AutoModelForTextToSpectrogram.generate_speech(input_ids, speaker_embeddings,
  vocoder=SpeechT5HifiGan) -> waveform (the HiFi-GAN vocoder turns the generated log-mel spectrogram into audio).

    python examples/text_to_speech.py                          # PyTorch
    python examples/text_to_speech.py --framework tf --out-dir /tmp/speech
    python examples/text_to_speech.py --text "Hello there" --seed 3

By default the checkpoints are the tiny random ones of the test fixtures (tests/fixtures/models/vits/VitsModel,
models/speecht5/SpeechT5ForTextToSpeech, models/hifigan/SpeechT5HifiGan, tokenizers/vits, processors/speecht5), so
the audio is noise but every step runs in seconds. Real checkpoints work the same way:
`AutoModelForTextToWaveform.from_pretrained("facebook/mms-tts-eng")` with its tokenizer, or
`AutoModelForTextToSpectrogram.from_pretrained("microsoft/speecht5_tts")`, `AutoProcessor` of the same id and
`SpeechT5HifiGan.from_pretrained("microsoft/speecht5_hifigan")` (no Auto class builds the vocoder, as in
transformers), with a 512-dim x-vector as the speaker embedding.

VITS samples noise scaled by noise_scale / noise_scale_duration (0 in the tiny checkpoint): --seed seeds PyTorch's
and TensorFlow's generators, and Flax's "noise" stream; with the same seed PyTorch gives transformers' waveform.
"""

from __future__ import annotations

import argparse
import wave
from pathlib import Path

import numpy as np

import autoload

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PREFIX = {"torch": "", "tf": "TF", "flax": "Flax"}
TENSORS = {"torch": "pt", "tf": "tf", "flax": "np"}


def seeded(framework: str, seed: int | None) -> dict:
    """Seed the framework's generator; Flax takes its key with the call (returned as apply's rngs)."""
    if seed is None:
        return {}
    if framework == "torch":
        import torch

        torch.manual_seed(seed)
    elif framework == "tf":
        import tensorflow as tf

        tf.random.set_seed(seed)
    else:
        import jax

        return {"noise": jax.random.PRNGKey(seed)}
    return {}


def vits(framework: str, text: str, seed: int | None) -> tuple[np.ndarray, int]:
    tokenizer = autoload.AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / "vits")
    model = getattr(autoload, PREFIX[framework] + "AutoModelForTextToWaveform").from_pretrained(
        FIXTURES / "models" / "vits" / "VitsModel")  # fmt: skip
    inputs = tokenizer(text, return_tensors=TENSORS[framework])
    rngs = seeded(framework, seed)
    if framework == "torch":
        import torch

        with torch.no_grad():
            waveform = model(**inputs).waveform
    elif framework == "flax":
        waveform = model.module.apply({"params": model.params}, inputs["input_ids"], inputs["attention_mask"],
                                      rngs=rngs).waveform  # fmt: skip
    else:
        waveform = model(**inputs).waveform
    return np.asarray(waveform)[0], model.config.sampling_rate


def speecht5(framework: str, text: str, seed: int | None) -> tuple[np.ndarray, int]:
    processor = autoload.AutoProcessor.from_pretrained(FIXTURES / "processors" / "speecht5")
    model = getattr(autoload, PREFIX[framework] + "AutoModelForTextToSpectrogram").from_pretrained(
        FIXTURES / "models" / "speecht5" / "SpeechT5ForTextToSpeech")  # fmt: skip
    vocoder = getattr(autoload, PREFIX[framework] + "SpeechT5HifiGan").from_pretrained(
        FIXTURES / "models" / "hifigan" / "SpeechT5HifiGan")  # fmt: skip
    inputs = processor(text=text, return_tensors=TENSORS[framework])
    rng = np.random.default_rng(0 if seed is None else seed)
    speaker = rng.normal(size=(1, model.config.speaker_embedding_dim)).astype(np.float32)  # stands in for an x-vector
    if framework == "torch":
        import torch

        speaker = torch.from_numpy(speaker)
    # The tiny random model's stop probability is meaningless: maxlenratio bounds the length instead.
    waveform = model.generate_speech(inputs["input_ids"], speaker, vocoder=vocoder, threshold=1.1, maxlenratio=2.0)
    waveform = waveform.detach() if hasattr(waveform, "detach") else waveform
    return np.asarray(waveform).reshape(-1), vocoder.config.sampling_rate


def write_wav(path: Path, waveform: np.ndarray, rate: int) -> None:
    """16-bit mono PCM."""
    samples = (np.clip(waveform, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", choices=sorted(PREFIX), default="torch")
    parser.add_argument("--text", default="Hello, my dog is cute.")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out-dir", type=Path, default=None, help="write vits.wav and speecht5.wav here")
    args = parser.parse_args()
    for name, synthesise in (("vits", vits), ("speecht5", speecht5)):
        waveform, rate = synthesise(args.framework, args.text, args.seed)
        line = f"{name}: {len(waveform)} samples at {rate} Hz ({len(waveform) / rate:.4f} s)"
        if args.out_dir is not None:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            write_wav(args.out_dir / f"{name}.wav", waveform, rate)
            line += f" -> {args.out_dir / (name + '.wav')}"
        print(line)


if __name__ == "__main__":
    main()
