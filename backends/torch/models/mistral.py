"""Mistral in PyTorch: the Llama modules with Mistral's config (see backends/torch/models/llama.py)."""

from autoload.models.mistral import MistralConfig

from . import llama


def _with_config(base: type, name: str, **extra) -> type:
    return type(name, (base,), {"config_class": MistralConfig, "__module__": __name__, **extra})


MistralModel = _with_config(llama.LlamaModel, "MistralModel")
_base = {"base_class": MistralModel}
MistralForCausalLM = _with_config(llama.LlamaForCausalLM, "MistralForCausalLM", **_base)
MistralForSequenceClassification = _with_config(llama.LlamaForSequenceClassification, "MistralForSequenceClassification", **_base)
MistralForTokenClassification = _with_config(llama.LlamaForTokenClassification, "MistralForTokenClassification", **_base)
MistralForQuestionAnswering = _with_config(llama.LlamaForQuestionAnswering, "MistralForQuestionAnswering",
                                           base_model_prefix="model", **_base)
