"""SAM's image encoder on its own; see sam.py."""

from .sam import FlaxSamVisionModel

__all__ = ["FlaxSamVisionModel"]
