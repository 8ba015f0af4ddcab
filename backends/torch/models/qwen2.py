"""Qwen2 in PyTorch: the Llama modules with Qwen2's config (see backends/torch/models/llama.py)."""

from autoload.models.qwen2 import Qwen2Config

from . import llama


def _with_config(base: type, name: str, **extra) -> type:
    return type(name, (base,), {"config_class": Qwen2Config, "__module__": __name__, **extra})


Qwen2Model = _with_config(llama.LlamaModel, "Qwen2Model")
_base = {"base_class": Qwen2Model}
Qwen2ForCausalLM = _with_config(llama.LlamaForCausalLM, "Qwen2ForCausalLM", **_base)
Qwen2ForSequenceClassification = _with_config(llama.LlamaForSequenceClassification, "Qwen2ForSequenceClassification", **_base)
Qwen2ForTokenClassification = _with_config(llama.LlamaForTokenClassification, "Qwen2ForTokenClassification", **_base)
Qwen2ForQuestionAnswering = _with_config(llama.LlamaForQuestionAnswering, "Qwen2ForQuestionAnswering", **_base)
