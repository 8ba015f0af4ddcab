"""Model outputs: ordered, dataclass-like records with transformers' field names, for every backend.

An output behaves like transformers' ModelOutput: attribute access (`out.logits`), key access
(`out["logits"]`), integer indexing and slicing over the fields that are not None, and `to_tuple()`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class ModelOutput(OrderedDict):
    """Fields given positionally (in `_fields` order) or by name; a field not given is None and is left out
    of the items. Classes are made by _output: plain classes, not dataclasses, because making some 70
    dataclasses cost about 20 ms of every process's first load."""

    _fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__()
        if len(args) > len(self._fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(self._fields)} fields, got {len(args)}")
        values = dict(zip(self._fields, args))
        for name, value in kwargs.items():
            if name not in self._fields:
                raise TypeError(f"{type(self).__name__} has no field {name!r}; its fields: {', '.join(self._fields)}")
            if name in values:
                raise TypeError(f"{type(self).__name__} got field {name!r} twice")
            values[name] = value
        first, *rest = self._fields
        if isinstance(values.get(first), dict) and all(values.get(name) is None for name in rest):
            # Output(dict_of_fields), as transformers' ModelOutput takes it (accelerate's hooks rebuild outputs so)
            return self.__init__(**values[first])
        for name in self._fields:
            value = values.get(name)
            object.__setattr__(self, name, value)
            if value is not None:
                super().__setitem__(name, value)

    def __getitem__(self, key):
        if isinstance(key, str):
            return dict(self.items())[key]
        return self.to_tuple()[key]

    def __setattr__(self, name, value):
        if name in self.keys() and value is not None:
            super().__setitem__(name, value)
        super().__setattr__(name, value)

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        super().__setattr__(key, value)

    def __reduce__(self):
        return type(self), tuple(getattr(self, name) for name in self._fields)

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(self[k] for k in self.keys())


def finish(result: ModelOutput, return_dict: bool):
    """`result`, or its tuple form when the caller asked for return_dict=False."""
    return result if return_dict else result.to_tuple()


# Fields a head copies from its base model's output when its own output class has them.
CARRIED_FIELDS = ("past_key_values", "hidden_states", "attentions", "cross_attentions", "reshaped_hidden_states",
                  "decoder_hidden_states", "decoder_attentions", "encoder_last_hidden_state", "encoder_hidden_states",
                  "encoder_attentions")  # fmt: skip


def from_encoded(output_class: type, encoded, **values) -> ModelOutput:
    """`output_class(**values)` plus the base model's hidden states, attentions and cache where the
    output class has such fields, so no head forgets to pass one on."""
    for name in CARRIED_FIELDS:
        if name in output_class._fields and name not in values:
            values[name] = getattr(encoded, name, None)
    return output_class(**values)


def _output(name: str, *field_names: str) -> type:
    return type(name, (ModelOutput,), {"_fields": field_names, "__module__": __name__, "__qualname__": name})


_BASE = ("hidden_states", "attentions")
_CACHE = ("past_key_values",)

BaseModelOutput = _output("BaseModelOutput", "last_hidden_state", *_BASE)
BaseModelOutputWithPooling = _output("BaseModelOutputWithPooling", "last_hidden_state", "pooler_output", *_BASE)
BaseModelOutputWithPast = _output("BaseModelOutputWithPast", "last_hidden_state", *_CACHE, *_BASE)
BaseModelOutputWithPastAndCrossAttentions = _output(
    "BaseModelOutputWithPastAndCrossAttentions", "last_hidden_state", *_CACHE, *_BASE, "cross_attentions"
)
BaseModelOutputWithPoolingAndCrossAttentions = _output(
    "BaseModelOutputWithPoolingAndCrossAttentions",
    "last_hidden_state", "pooler_output", *_BASE, *_CACHE, "cross_attentions",
)  # fmt: skip
BaseModelOutputWithPoolingAndNoAttention = _output(
    "BaseModelOutputWithPoolingAndNoAttention", "last_hidden_state", "pooler_output", "hidden_states"
)
BaseModelOutputWithNoAttention = _output("BaseModelOutputWithNoAttention", "last_hidden_state", "hidden_states")
MaskedLMOutput = _output("MaskedLMOutput", "loss", "logits", *_BASE)
CausalLMOutput = _output("CausalLMOutput", "loss", "logits", *_BASE)
CausalLMOutputWithPast = _output("CausalLMOutputWithPast", "loss", "logits", *_CACHE, *_BASE)
MoeModelOutputWithPast = _output("MoeModelOutputWithPast", "last_hidden_state", *_CACHE, *_BASE, "router_logits")
MoeCausalLMOutputWithPast = _output(
    "MoeCausalLMOutputWithPast", "loss", "aux_loss", "logits", *_CACHE, *_BASE, "router_logits"
)
CausalLMOutputWithCrossAttentions = _output(
    "CausalLMOutputWithCrossAttentions", "loss", "logits", *_CACHE, *_BASE, "cross_attentions"
)
SequenceClassifierOutput = _output("SequenceClassifierOutput", "loss", "logits", *_BASE)
SequenceClassifierOutputWithPast = _output("SequenceClassifierOutputWithPast", "loss", "logits", *_CACHE, *_BASE)
MultipleChoiceModelOutput = _output("MultipleChoiceModelOutput", "loss", "logits", *_BASE)
TokenClassifierOutput = _output("TokenClassifierOutput", "loss", "logits", *_BASE)
QuestionAnsweringModelOutput = _output(
    "QuestionAnsweringModelOutput", "loss", "start_logits", "end_logits", *_BASE
)
NextSentencePredictorOutput = _output("NextSentencePredictorOutput", "loss", "logits", *_BASE)
BaseModelOutputWithCrossAttentions = _output(
    "BaseModelOutputWithCrossAttentions", "last_hidden_state", *_BASE, "cross_attentions"
)
ElectraForPreTrainingOutput = _output("ElectraForPreTrainingOutput", "loss", "logits", *_BASE)
AlbertForPreTrainingOutput = _output("AlbertForPreTrainingOutput", "loss", "prediction_logits", "sop_logits", *_BASE)
BertForPreTrainingOutput = _output(
    "BertForPreTrainingOutput", "loss", "prediction_logits", "seq_relationship_logits", *_BASE
)
ImageClassifierOutput = _output("ImageClassifierOutput", "loss", "logits", *_BASE)
ImageClassifierOutputWithNoAttention = _output(
    "ImageClassifierOutputWithNoAttention", "loss", "logits", "hidden_states"
)
MaskedImageModelingOutput = _output("MaskedImageModelingOutput", "loss", "reconstruction", *_BASE)
BackboneOutput = _output("BackboneOutput", "feature_maps", *_BASE)
Seq2SeqModelOutput = _output(
    "Seq2SeqModelOutput",
    "last_hidden_state", "past_key_values", "decoder_hidden_states", "decoder_attentions", "cross_attentions",
    "encoder_last_hidden_state", "encoder_hidden_states", "encoder_attentions",
)  # fmt: skip
Seq2SeqLMOutput = _output(
    "Seq2SeqLMOutput",
    "loss", "logits", "past_key_values", "decoder_hidden_states", "decoder_attentions", "cross_attentions",
    "encoder_last_hidden_state", "encoder_hidden_states", "encoder_attentions",
)  # fmt: skip
Seq2SeqSpectrogramOutput = _output(
    "Seq2SeqSpectrogramOutput",
    "loss", "spectrogram", "past_key_values", "decoder_hidden_states", "decoder_attentions", "cross_attentions",
    "encoder_last_hidden_state", "encoder_hidden_states", "encoder_attentions",
)  # fmt: skip
Seq2SeqSequenceClassifierOutput = _output(
    "Seq2SeqSequenceClassifierOutput",
    "loss", "logits", "past_key_values", "decoder_hidden_states", "decoder_attentions", "cross_attentions",
    "encoder_last_hidden_state", "encoder_hidden_states", "encoder_attentions",
)  # fmt: skip
Seq2SeqQuestionAnsweringModelOutput = _output(
    "Seq2SeqQuestionAnsweringModelOutput",
    "loss", "start_logits", "end_logits", "past_key_values", "decoder_hidden_states", "decoder_attentions",
    "cross_attentions", "encoder_last_hidden_state", "encoder_hidden_states", "encoder_attentions",
)  # fmt: skip
SwinModelOutput = _output(
    "SwinModelOutput", "last_hidden_state", "pooler_output", *_BASE, "reshaped_hidden_states"
)
SwinImageClassifierOutput = _output(
    "SwinImageClassifierOutput", "loss", "logits", *_BASE, "reshaped_hidden_states"
)
SwinMaskedImageModelingOutput = _output(
    "SwinMaskedImageModelingOutput", "loss", "reconstruction", *_BASE, "reshaped_hidden_states"
)
CLIPOutput = _output(
    "CLIPOutput",
    "loss", "logits_per_image", "logits_per_text", "text_embeds", "image_embeds",
    "text_model_output", "vision_model_output",
)  # fmt: skip
SiglipOutput = _output(
    "SiglipOutput",
    "loss", "logits_per_image", "logits_per_text", "text_embeds", "image_embeds",
    "text_model_output", "vision_model_output",
)  # fmt: skip
BeitModelOutputWithPooling = _output("BeitModelOutputWithPooling", "last_hidden_state", "pooler_output", *_BASE)
DeiTForImageClassificationWithTeacherOutput = _output(
    "DeiTForImageClassificationWithTeacherOutput", "logits", "cls_logits", "distillation_logits", *_BASE
)
SemanticSegmenterOutput = _output("SemanticSegmenterOutput", "loss", "logits", *_BASE)
Wav2Vec2BaseModelOutput = _output("Wav2Vec2BaseModelOutput", "last_hidden_state", "extract_features", *_BASE)
XVectorOutput = _output("XVectorOutput", "loss", "logits", "embeddings", *_BASE)
Wav2Vec2ForPreTrainingOutput = _output(
    "Wav2Vec2ForPreTrainingOutput",
    "loss", "projected_states", "projected_quantized_states", "codevector_perplexity", *_BASE,
    "contrastive_loss", "diversity_loss",
)  # fmt: skip
GPT2DoubleHeadsModelOutput = _output(
    "GPT2DoubleHeadsModelOutput", "loss", "mc_loss", "logits", "mc_logits", *_CACHE, *_BASE
)
# Dense prediction, super-resolution, keypoints and video (SegFormer, DPT, Swin2SR, SuperPoint, VideoMAE).
SegFormerImageClassifierOutput = _output("SegFormerImageClassifierOutput", "loss", "logits", *_BASE)
BaseModelOutputWithPoolingAndIntermediateActivations = _output(
    "BaseModelOutputWithPoolingAndIntermediateActivations",
    "last_hidden_state", "pooler_output", *_BASE, "intermediate_activations",
)  # fmt: skip
DepthEstimatorOutput = _output("DepthEstimatorOutput", "loss", "predicted_depth", *_BASE)
ImageSuperResolutionOutput = _output("ImageSuperResolutionOutput", "loss", "reconstruction", *_BASE)
SuperPointKeypointDescriptionOutput = _output(
    "SuperPointKeypointDescriptionOutput", "loss", "keypoints", "scores", "descriptors", "mask", "hidden_states"
)
VideoMAEForPreTrainingOutput = _output("VideoMAEForPreTrainingOutput", "loss", "logits", *_BASE)
# Text to speech (VITS).
VitsModelOutput = _output("VitsModelOutput", "waveform", "sequence_lengths", "spectrogram", *_BASE)
# DETR and MaskFormer (detection, panoptic / instance segmentation) and MaskFormer's Swin backbone.
_SEQ2SEQ_STATES = ("last_hidden_state", "decoder_hidden_states", "decoder_attentions", "cross_attentions",
                   "encoder_last_hidden_state", "encoder_hidden_states", "encoder_attentions")  # fmt: skip
DetrModelOutput = _output(
    "DetrModelOutput",
    "last_hidden_state", "past_key_values", *_SEQ2SEQ_STATES[1:], "intermediate_hidden_states",
)  # fmt: skip
DetrObjectDetectionOutput = _output(
    "DetrObjectDetectionOutput", "loss", "loss_dict", "logits", "pred_boxes", "auxiliary_outputs", *_SEQ2SEQ_STATES
)
DetrSegmentationOutput = _output(
    "DetrSegmentationOutput",
    "loss", "loss_dict", "logits", "pred_boxes", "pred_masks", "auxiliary_outputs", *_SEQ2SEQ_STATES,
)  # fmt: skip
_MASKFORMER_STATES = ("encoder_last_hidden_state", "pixel_decoder_last_hidden_state",
                      "transformer_decoder_last_hidden_state", "encoder_hidden_states", "pixel_decoder_hidden_states",
                      "transformer_decoder_hidden_states", "hidden_states", "attentions")  # fmt: skip
MaskFormerModelOutput = _output("MaskFormerModelOutput", *_MASKFORMER_STATES)
MaskFormerForInstanceSegmentationOutput = _output(
    "MaskFormerForInstanceSegmentationOutput",
    "loss", "class_queries_logits", "masks_queries_logits", "auxiliary_logits", *_MASKFORMER_STATES,
)  # fmt: skip
MaskFormerSwinModelOutputWithPooling = _output(
    "MaskFormerSwinModelOutputWithPooling",
    "last_hidden_state", "pooler_output", "hidden_states", "hidden_states_spatial_dimensions", "attentions",
)  # fmt: skip
# Open-vocabulary detection (OWL-ViT) and promptable masks (SAM).
OwlViTOutput = _output(
    "OwlViTOutput",
    "loss", "logits_per_image", "logits_per_text", "text_embeds", "image_embeds",
    "text_model_output", "vision_model_output",
)  # fmt: skip
OwlViTObjectDetectionOutput = _output(
    "OwlViTObjectDetectionOutput",
    "loss", "loss_dict", "logits", "pred_boxes", "text_embeds", "image_embeds", "class_embeds",
    "text_model_output", "vision_model_output",
)  # fmt: skip
OwlViTImageGuidedObjectDetectionOutput = _output(
    "OwlViTImageGuidedObjectDetectionOutput",
    "logits", "image_embeds", "query_image_embeds", "target_pred_boxes", "query_pred_boxes", "class_embeds",
    "text_model_output", "vision_model_output",
)  # fmt: skip
SamVisionEncoderOutput = _output("SamVisionEncoderOutput", "image_embeds", "last_hidden_state", *_BASE)
SamImageSegmentationOutput = _output(
    "SamImageSegmentationOutput",
    "iou_scores", "pred_masks", "vision_hidden_states", "vision_attentions", "mask_decoder_attentions",
)  # fmt: skip
# Table question answering (TAPAS): cell-selection logits per token and aggregation logits per example.
TableQuestionAnsweringOutput = _output("TableQuestionAnsweringOutput", "loss", "logits", "logits_aggregation", *_BASE)
# LLaVA: the language model's output plus the projected image features ([images * patches, width]).
LlavaModelOutputWithPast = _output(
    "LlavaModelOutputWithPast", "last_hidden_state", *_CACHE, *_BASE, "image_hidden_states"
)
LlavaCausalLMOutputWithPast = _output(
    "LlavaCausalLMOutputWithPast", "loss", "logits", *_CACHE, *_BASE, "image_hidden_states"
)
# BLIP: contrastive outputs (as CLIP's), captioning logits and VQA loss with the image encoder's outputs.
BlipOutput = _output(
    "BlipOutput",
    "loss", "logits_per_image", "logits_per_text", "text_embeds", "image_embeds", "text_model_output",
    "vision_model_output",
)  # fmt: skip
BlipForConditionalGenerationModelOutput = _output(
    "BlipForConditionalGenerationModelOutput", "loss", "logits", "image_embeds", "last_hidden_state", *_BASE
)
BlipTextVisionModelOutput = _output(
    "BlipTextVisionModelOutput", "loss", "image_embeds", "last_hidden_state", *_BASE
)
