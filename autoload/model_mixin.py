"""What every framework's model base class answers alike, whatever the framework."""

from __future__ import annotations

from .hub_push import PushToHubMixin


class ModelMixin(PushToHubMixin):
    name_or_path = ""  # what from_pretrained was given (a folder or a Hub repo id); "" for a model from a config

    @classmethod
    def can_generate(cls) -> bool:
        """Whether the class has generate() (as transformers' pipelines and examples ask)."""
        return callable(getattr(cls, "generate", None))

    _push_safetensors = True  # what push_to_hub writes unless told (transformers: safetensors; TF: tf_model.h5)

    def _push_save_options(self, max_shard_size, safe_serialization) -> dict:
        options = {"safe_serialization": self._push_safetensors if safe_serialization is None else safe_serialization}
        return options if max_shard_size is None else {**options, "max_shard_size": max_shard_size}
