"""ProcessorMixin: loads, saves and delegates to a processor's parts (a tokenizer plus an image processor
or feature extractor), each from its own files in the same folder."""

from __future__ import annotations

import json
import os

from ..atomic_save import saves_atomically
from ..errors import CheckpointNotFoundError
from ..hub import HubOptions

PROCESSOR_CONFIG_NAME = "processor_config.json"


class ProcessorMixin:
    # attribute name -> the Auto class that loads it ("tokenizer" -> AutoTokenizer …)
    parts: dict[str, str] = {}

    def __init__(self, **parts):
        for name in self.parts:
            if parts.get(name) is None:
                raise ValueError(f"{type(self).__name__} needs a {name}.")
            setattr(self, name, parts[name])

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        import autoload

        loaded = {}
        for name, auto_name in cls.parts.items():
            try:
                loaded[name] = getattr(autoload, auto_name).from_pretrained(pretrained_model_name_or_path, **kwargs)
            except (OSError, ValueError) as exc:
                where = os.fspath(pretrained_model_name_or_path)
                raise CheckpointNotFoundError(
                    f"{cls.__name__} needs a {name} but {where} has none that {auto_name} can load ({exc}). "
                    f"Add the {name}'s files, or load the parts separately."
                ) from exc
        return cls(**loaded)

    @saves_atomically  # staged: an interrupted save never leaves a mix of old and new files
    def save_pretrained(self, save_directory, **kwargs) -> list[str]:
        os.makedirs(save_directory, exist_ok=True)
        written = []
        for name in self.parts:
            result = getattr(self, name).save_pretrained(save_directory)
            written += list(result) if isinstance(result, (list, tuple)) else []
        # Each part's own config records which processor it belongs to, as transformers writes it.
        for config_name in ("tokenizer_config.json", "preprocessor_config.json"):
            path = os.path.join(save_directory, config_name)
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
                data["processor_class"] = type(self).__name__
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=2, sort_keys=True)
        return written

    # Decoding always belongs to the tokenizer.
    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{n}={type(getattr(self, n)).__name__}' for n in self.parts)})"


def hub_options(kwargs: dict) -> HubOptions:
    return HubOptions(**{k: kwargs[k] for k in HubOptions.KEYS if k in kwargs and kwargs[k] is not None})
