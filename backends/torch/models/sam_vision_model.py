"""SAM's image encoder on its own; see sam.py."""

from .sam import SamVisionModel

__all__ = ["SamVisionModel"]
