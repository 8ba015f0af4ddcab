"""GenerationConfig: generate()'s defaults, read from generation_config.json or the model config."""

from __future__ import annotations

import copy
import json
import os

from ..atomic_save import write_text_atomically
from ..hub import HubOptions, cached_file
from ..hub_push import PushToHubMixin, pushes_after_save
from ..json_files import read_json_file

GENERATION_CONFIG_NAME = "generation_config.json"

_DEFAULTS = {
    "max_length": 20,
    "max_new_tokens": None,
    "min_length": 0,
    "min_new_tokens": None,
    "do_sample": False,
    "num_beams": 1,
    "temperature": 1.0,
    "top_k": 50,
    "top_p": 1.0,
    "length_penalty": 1.0,
    "early_stopping": False,
    "num_return_sequences": 1,
    "bos_token_id": None,
    "eos_token_id": None,
    "pad_token_id": None,
    "decoder_start_token_id": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "use_cache": True,
    "repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "bad_words_ids": None,
}
# What a model config without generation_config.json says about generation: its token ids, and the generation
# settings older checkpoints keep in config.json (BART-CNN's beams and n-gram blocking, Marian's bad_words_ids),
# which transformers reads from there too.
_FROM_MODEL_CONFIG = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id",
                      "forced_bos_token_id", "forced_eos_token_id", "suppress_tokens", "begin_suppress_tokens",
                      "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "temperature", "top_k",
                      "top_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size", "bad_words_ids",
                      "num_return_sequences")  # fmt: skip
# transformers 4.57's generation options that change what generate() returns and that autoload's search does not
# implement, with the value that leaves them off. Set to anything else, in the call, generation_config.json or
# a legacy config.json, generate() refuses rather than return other tokens than transformers would.
_NOT_IMPLEMENTED = {
    "max_time": None, "stop_strings": None, "encoder_repetition_penalty": 1.0, "encoder_no_repeat_ngram_size": 0,
    "renormalize_logits": False, "remove_invalid_values": False, "exponential_decay_length_penalty": None,
    "sequence_bias": None, "token_healing": False, "guidance_scale": None, "watermarking_config": None,
    "penalty_alpha": None, "dola_layers": None, "diversity_penalty": 0.0, "num_beam_groups": 1, "constraints": None,
    "force_words_ids": None, "return_dict_in_generate": False,
}  # fmt: skip
# Warpers transformers applies only when sampling (do_sample=True).
_NOT_IMPLEMENTED_WHEN_SAMPLING = {"min_p": None, "typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0}


class GenerationConfig(PushToHubMixin):
    def __init__(self, **kwargs):
        for key, default in _DEFAULTS.items():
            setattr(self, key, copy.deepcopy(kwargs.pop(key, default)))
        for key, value in kwargs.items():  # keys of newer versions are kept, unused
            setattr(self, key, value)

    @classmethod
    def from_model_config(cls, config) -> GenerationConfig:
        names = (*_FROM_MODEL_CONFIG, *_NOT_IMPLEMENTED, *_NOT_IMPLEMENTED_WHEN_SAMPLING)
        return cls(**{k: getattr(config, k) for k in names if getattr(config, k, None) is not None})

    @classmethod
    def from_pretrained(cls, name_or_path, **kwargs) -> GenerationConfig:
        options = HubOptions.pop_from(kwargs)
        path = cached_file(name_or_path, GENERATION_CONFIG_NAME, options)
        return cls(**read_json_file(path), **kwargs)

    @classmethod
    def for_model(cls, name_or_path, config, options: HubOptions | None = None) -> GenerationConfig:
        """generation_config.json when the checkpoint has one, else the defaults the model config implies."""
        path = None
        if name_or_path is not None:
            path = cached_file(name_or_path, GENERATION_CONFIG_NAME, options, required=False)
        if path is None:
            return cls.from_model_config(config)
        return cls(**read_json_file(path))

    @classmethod
    def for_call(cls, model, generation_config: GenerationConfig | None = None, **options) -> GenerationConfig:
        """What one generate() call uses: the config passed, else the model's, else the defaults its model
        config implies, with the call's keyword options applied (unknown ones raise)."""
        base = generation_config or getattr(model, "generation_config", None) or cls.from_model_config(model.config)
        config = base.updated(**options)
        config.refuse_unimplemented()
        return config

    def updated(self, **kwargs) -> GenerationConfig:
        """A copy with generate()'s keyword arguments applied (unknown keys raise)."""
        config = copy.deepcopy(self)
        for key, value in kwargs.items():
            known = key in _DEFAULTS or key in _NOT_IMPLEMENTED or key in _NOT_IMPLEMENTED_WHEN_SAMPLING
            if not known and not hasattr(config, key):
                raise TypeError(f"generate() got an unexpected keyword argument {key!r}")
            setattr(config, key, value)
        return config

    def refuse_unimplemented(self) -> None:
        """Raise NotImplementedError for an option set that autoload's generate() would otherwise ignore."""
        checked = dict(_NOT_IMPLEMENTED, **(_NOT_IMPLEMENTED_WHEN_SAMPLING if self.do_sample else {}))
        for name, off in checked.items():
            value = getattr(self, name, off)
            if value != off and not (name == "min_p" and value == 0):  # min_p 0 keeps every token
                raise NotImplementedError(
                    f"generate() got {name}={value!r} (from the call, generation_config.json or config.json), which "
                    f"autoload's generate() does not implement, and it would change the result; set it to {off!r} "
                    "to generate without it."
                )

    def eos_ids(self) -> list[int]:
        eos = self.eos_token_id
        return [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))

    def pad_id(self) -> int:
        """The token finished rows are padded with: pad_token_id, else the (first) end token, else 0."""
        eos = self.eos_ids()
        return self.pad_token_id if self.pad_token_id is not None else (eos[0] if eos else 0)

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @pushes_after_save
    def save_pretrained(self, folder) -> None:
        os.makedirs(folder, exist_ok=True)
        changed = {k: v for k, v in self.to_dict().items() if _DEFAULTS.get(k, object()) != v}
        write_text_atomically(os.path.join(folder, GENERATION_CONFIG_NAME), json.dumps(changed, indent=2))
