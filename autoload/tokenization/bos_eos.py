"""`add_bos_token` / `add_eos_token`: the post-processor Llama, Gemma and GPT-NeoX tokenizers rebuild from them.

Single texts become `[bos] A [eos]`, pairs `[bos] A [eos] [bos] B [eos]` (B with type id 1), each part only
when its option is on. Setting either attribute rebuilds the template at once, as in transformers.
"""

from __future__ import annotations

from tokenizers import processors


class BosEosTemplateMixin:
    """Mixed into a PreTrainedTokenizerFast subclass whose `settings` hold add_bos_token / add_eos_token."""

    def _sync_backend(self) -> None:
        super()._sync_backend()
        self.update_post_processor()

    @property
    def add_bos_token(self) -> bool:
        return bool(self.settings.get("add_bos_token"))

    @add_bos_token.setter
    def add_bos_token(self, value: bool) -> None:
        self.settings["add_bos_token"] = self.init_kwargs["add_bos_token"] = value
        self.update_post_processor()

    @property
    def add_eos_token(self) -> bool:
        return bool(self.settings.get("add_eos_token"))

    @add_eos_token.setter
    def add_eos_token(self, value: bool) -> None:
        self.settings["add_eos_token"] = self.init_kwargs["add_eos_token"] = value
        self.update_post_processor()

    def update_post_processor(self) -> None:
        """Rebuild the template that adds the bos token (add_bos_token) and eos token (add_eos_token)."""
        parts, special_tokens = {}, []
        for name, enabled in (("bos", self.add_bos_token), ("eos", self.add_eos_token)):
            token = getattr(self, f"{name}_token")
            if enabled and token is None:
                raise ValueError(f"add_{name}_token=True but the tokenizer has no {name}_token.")
            parts[name] = token if enabled else None
            if enabled:
                special_tokens.append((token, self.convert_tokens_to_ids(token)))
        bos, eos = parts["bos"], parts["eos"]

        def sequence(name: str, type_id: int) -> str:
            pieces = (
                ([f"{bos}:{type_id}"] if bos else []) + [f"${name}:{type_id}"] + ([f"{eos}:{type_id}"] if eos else [])
            )
            return " ".join(pieces)

        self._tokenizer.post_processor = processors.TemplateProcessing(
            single=sequence("A", 0), pair=f"{sequence('A', 0)} {sequence('B', 1)}", special_tokens=special_tokens
        )
