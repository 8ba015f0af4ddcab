"""TensorFlow (Keras 3) adapter. Keras must run on its TensorFlow backend."""

import os

_requested = os.environ.get("KERAS_BACKEND", "tensorflow")
if _requested != "tensorflow":
    raise ImportError(
        f"autoload's TF models are Keras 3 models on the TensorFlow backend, but KERAS_BACKEND={_requested!r}. "
        "Set KERAS_BACKEND=tensorflow before importing keras (or use backend='flax' / 'torch')."
    )
