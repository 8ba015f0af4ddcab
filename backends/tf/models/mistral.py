"""Mistral in TensorFlow: the Llama layers with Mistral's config (sliding window) — see llama.py."""

from autoload.models.mistral import MistralConfig

from .llama import family

globals().update(family("Mistral", MistralConfig, __name__, qa_prefix="model"))
