"""Text generation shared by every framework: the search (greedy, beam, sampling) and the logits
processors run on numpy; a backend only supplies one decoding step and a way to reorder its cache."""

from .config import GenerationConfig
from .positions import decoder_mask_inputs, decoder_mask_taken, mask_positions, widened_mask
from .search import generate

__all__ = ["GenerationConfig", "decoder_mask_inputs", "decoder_mask_taken", "generate", "mask_positions",
           "widened_mask"]
