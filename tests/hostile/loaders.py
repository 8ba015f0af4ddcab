"""The public entry points a hostile file reaches, by name, each driven to the end (every tensor read, a text
encoded, an image or a second of audio processed), so a problem cannot hide in a lazy step nobody took."""

from __future__ import annotations

import numpy as np

WEIGHT_BACKEND = {"safetensors": "torch", "pt": "torch", "tf": "tf", "flax": "flax"}
FLAG = {"pt": "from_pt", "tf": "from_tf", "flax": "from_flax"}


def load(loader: str, folder: str):
    kind, _, argument = loader.partition(":")
    return LOADERS[kind](folder, argument)


def _weights(folder: str, fmt: str):
    from autoload.weights import find_weights, open_weights

    flags = {FLAG[fmt]: True} if fmt in FLAG else {}
    state = open_weights(find_weights(folder, backend=WEIGHT_BACKEND[fmt], **flags))
    total = 0
    for name in state:
        total += int(np.asarray(state[name]).size)
    return total


def _config(folder: str, _):
    from autoload import AutoConfig

    return AutoConfig.from_pretrained(folder).model_type


def _model(folder: str, backend: str):
    import autoload

    auto = {"torch": autoload.AutoModel, "tf": autoload.TFAutoModel, "flax": autoload.FlaxAutoModel}[backend]
    return type(auto.from_pretrained(folder)).__name__


def _tokenizer(folder: str, _):
    from autoload import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    return tokenizer("Hello world, hostile files!")["input_ids"]


def _image_processor(folder: str, _):
    from autoload import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(folder)
    image = np.zeros((40, 30, 3), dtype=np.uint8)
    return np.shape(processor(image, return_tensors="np")["pixel_values"])


def _feature_extractor(folder: str, _):
    from autoload import AutoFeatureExtractor

    extractor = AutoFeatureExtractor.from_pretrained(folder)
    audio = np.zeros(1600, dtype=np.float32)
    features = extractor(audio, sampling_rate=extractor.sampling_rate, return_tensors="np")
    return {key: np.shape(value) for key, value in features.items()}


LOADERS = {"weights": _weights, "config": _config, "model": _model, "tokenizer": _tokenizer,
           "image_processor": _image_processor, "feature_extractor": _feature_extractor}  # fmt: skip
