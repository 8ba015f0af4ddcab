"""Text generation shared by every framework: the search (greedy, beam, sampling) and the logits
processors run on numpy; a backend only supplies one decoding step and a way to reorder its cache."""

from .config import GenerationConfig
from .positions import mask_positions
from .search import generate

__all__ = ["GenerationConfig", "generate", "mask_positions"]
