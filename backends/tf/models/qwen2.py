"""Qwen2 in TensorFlow: the Llama layers with Qwen2's config (q/k/v biases) — see llama.py."""

from autoload.models.qwen2 import Qwen2Config

from .llama import family

globals().update(family("Qwen2", Qwen2Config, __name__))
