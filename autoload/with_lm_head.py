"""The deprecated AutoModelWithLMHead family, derived from the language-modelling families.

transformers 4.57.6 keeps MODEL_WITH_LM_HEAD_MAPPING (and TF_MODEL_WITH_LM_HEAD_MAPPING, the same classes with the
TF prefix) for old code: each model_type maps to one of its masked-LM, causal-LM or encoder-decoder classes.
Rather than a family entry in every architecture module, an architecture joins this family when the class
listed here for its model_type is one it already declares in ARCHITECTURES.
"""

from __future__ import annotations

FAMILY = "MODEL_WITH_LM_HEAD"

# model_type -> the PyTorch class transformers 4.57.6's MODEL_WITH_LM_HEAD_MAPPING_NAMES names for it.
CLASS_NAMES: dict[str, str] = {
    "albert": "AlbertForMaskedLM", "bart": "BartForConditionalGeneration", "bert": "BertForMaskedLM",
    "big_bird": "BigBirdForMaskedLM", "bigbird_pegasus": "BigBirdPegasusForConditionalGeneration",
    "blenderbot-small": "BlenderbotSmallForConditionalGeneration", "bloom": "BloomForCausalLM",
    "camembert": "CamembertForMaskedLM", "codegen": "CodeGenForCausalLM", "convbert": "ConvBertForMaskedLM",
    "cpmant": "CpmAntForCausalLM", "ctrl": "CTRLLMHeadModel", "data2vec-text": "Data2VecTextForMaskedLM",
    "deberta": "DebertaForMaskedLM", "deberta-v2": "DebertaV2ForMaskedLM", "dia": "DiaForConditionalGeneration",
    "distilbert": "DistilBertForMaskedLM", "electra": "ElectraForMaskedLM", "encoder-decoder": "EncoderDecoderModel",
    "ernie": "ErnieForMaskedLM", "esm": "EsmForMaskedLM", "exaone4": "Exaone4ForCausalLM",
    "falcon_mamba": "FalconMambaForCausalLM", "flaubert": "FlaubertWithLMHeadModel", "fnet": "FNetForMaskedLM",
    "fsmt": "FSMTForConditionalGeneration", "funnel": "FunnelForMaskedLM", "git": "GitForCausalLM",
    "gpt-sw3": "GPT2LMHeadModel", "gpt2": "GPT2LMHeadModel", "gpt_bigcode": "GPTBigCodeForCausalLM",
    "gpt_neo": "GPTNeoForCausalLM", "gpt_neox": "GPTNeoXForCausalLM",
    "gpt_neox_japanese": "GPTNeoXJapaneseForCausalLM", "gptj": "GPTJForCausalLM",
    "gptsan-japanese": "GPTSanJapaneseForConditionalGeneration", "ibert": "IBertForMaskedLM",
    "layoutlm": "LayoutLMForMaskedLM", "led": "LEDForConditionalGeneration", "longformer": "LongformerForMaskedLM",
    "longt5": "LongT5ForConditionalGeneration", "luke": "LukeForMaskedLM",
    "m2m_100": "M2M100ForConditionalGeneration", "mamba": "MambaForCausalLM", "mamba2": "Mamba2ForCausalLM",
    "marian": "MarianMTModel", "mega": "MegaForMaskedLM", "megatron-bert": "MegatronBertForCausalLM",
    "mobilebert": "MobileBertForMaskedLM", "moonshine": "MoonshineForConditionalGeneration",
    "mpnet": "MPNetForMaskedLM", "mpt": "MptForCausalLM", "mra": "MraForMaskedLM",
    "mvp": "MvpForConditionalGeneration", "nezha": "NezhaForMaskedLM", "nllb-moe": "NllbMoeForConditionalGeneration",
    "nystromformer": "NystromformerForMaskedLM", "openai-gpt": "OpenAIGPTLMHeadModel",
    "pegasus_x": "PegasusXForConditionalGeneration", "plbart": "PLBartForConditionalGeneration",
    "pop2piano": "Pop2PianoForConditionalGeneration", "qdqbert": "QDQBertForMaskedLM",
    "reformer": "ReformerModelWithLMHead", "rembert": "RemBertForMaskedLM", "roberta": "RobertaForMaskedLM",
    "roberta-prelayernorm": "RobertaPreLayerNormForMaskedLM", "roc_bert": "RoCBertForMaskedLM",
    "roformer": "RoFormerForMaskedLM", "rwkv": "RwkvForCausalLM",
    "speech_to_text": "Speech2TextForConditionalGeneration", "squeezebert": "SqueezeBertForMaskedLM",
    "switch_transformers": "SwitchTransformersForConditionalGeneration", "t5": "T5ForConditionalGeneration",
    "t5gemma": "T5GemmaForConditionalGeneration", "tapas": "TapasForMaskedLM", "transfo-xl": "TransfoXLLMHeadModel",
    "wav2vec2": "Wav2Vec2ForMaskedLM", "whisper": "WhisperForConditionalGeneration", "xlm": "XLMWithLMHeadModel",
    "xlm-roberta": "XLMRobertaForMaskedLM", "xlm-roberta-xl": "XLMRobertaXLForMaskedLM", "xlnet": "XLNetLMHeadModel",
    "xmod": "XmodForMaskedLM", "yoso": "YosoForMaskedLM",
}


def class_name(model_type: str, architectures: dict[str, str]) -> str | None:
    """The class AutoModelWithLMHead builds for `model_type`, or None when it is not one we implement."""
    name = CLASS_NAMES.get(model_type)
    return name if name in architectures.values() else None


def deprecation_message(auto_class_name: str) -> str:
    prefix = auto_class_name.removesuffix("AutoModelWithLMHead")
    return (
        f"{auto_class_name} is deprecated, as it is in transformers, and will go when transformers drops it. "
        f"Load causal language models with {prefix}AutoModelForCausalLM, masked language models with "
        f"{prefix}AutoModelForMaskedLM and encoder-decoder models with {prefix}AutoModelForSeq2SeqLM."
    )
