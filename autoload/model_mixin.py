"""What every framework's model base class answers alike, whatever the framework."""

from __future__ import annotations


class ModelMixin:
    name_or_path = ""  # what from_pretrained was given (a folder or a Hub repo id); "" for a model from a config

    @classmethod
    def can_generate(cls) -> bool:
        """Whether the class has generate() (as transformers' pipelines and examples ask)."""
        return callable(getattr(cls, "generate", None))
