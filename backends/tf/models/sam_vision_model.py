"""SAM's image encoder on its own; see sam.py."""

from .sam import TFSamVisionModel

__all__ = ["TFSamVisionModel"]
