"""Wav2Vec2 in TensorFlow (Keras 3) on the speech block library (blocks/speech.py), named like transformers'
TF Wav2Vec2 so tf_model.h5 files interchange; plus its own pre-training head (a product quantizer over the
conv features and the contrastive + diversity loss)."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.wav2vec2 import Wav2Vec2Config

from ..blocks.speech import (
    TFAudioClassificationModel,
    TFAudioFrameClassificationModel,
    TFCTCModel,
    TFSpeechMainLayer,
    TFSpeechModel,
    TFSpeechPreTrainedModel,
    TFSpeechTaskModel,
    TFXVectorModel,
)
from ..modeling import Layer, dense


class TFWav2Vec2PreTrainedModel(TFSpeechPreTrainedModel):
    config_class = Wav2Vec2Config
    base_model_prefix = "wav2vec2"
    main_layer_class = TFSpeechMainLayer


class TFWav2Vec2Model(TFSpeechModel, TFWav2Vec2PreTrainedModel):
    pass


class TFWav2Vec2ForCTC(TFCTCModel, TFWav2Vec2PreTrainedModel):
    pass


class TFWav2Vec2ForMaskedLM(TFCTCModel, TFWav2Vec2PreTrainedModel):
    """The deprecated name of a CTC head without the CTC loss; kept so its checkpoints load. Like the original
    (and the PyTorch / Flax classes here) it ignores attention_mask."""

    def call(self, input_values=None, attention_mask=None, output_attentions=None, output_hidden_states=None,
             return_dict=True, training=False, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, None, output_attentions, output_hidden_states, training)
        logits = self.output_layer(encoded.last_hidden_state, training)
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, logits=logits), return_dict)


class TFWav2Vec2ForSequenceClassification(TFAudioClassificationModel, TFWav2Vec2PreTrainedModel):
    pass


class TFWav2Vec2ForAudioFrameClassification(TFAudioFrameClassificationModel, TFWav2Vec2PreTrainedModel):
    pass


class TFWav2Vec2ForXVector(TFXVectorModel, TFWav2Vec2PreTrainedModel):
    pass


class TFWav2Vec2GumbelVectorQuantizer(Layer):
    """Product quantisation of the conv features: the argmax code of each group (inference; no Gumbel noise)."""

    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.num_groups = config.num_codevector_groups
        self.num_vars = config.num_codevectors_per_group
        if config.codevector_dim % self.num_groups:
            raise ValueError(
                f"codevector_dim ({config.codevector_dim}) must be divisible by num_codevector_groups "
                f"({self.num_groups})."
            )
        self.weight_proj = dense(config, self.num_groups * self.num_vars, "weight_proj")

    def input_sizes(self):  # it reads the conv features
        return {self.weight_proj: self.config.conv_dim[-1]}

    def build(self, input_shape=None):
        shape = (1, self.num_groups * self.num_vars, self.config.codevector_dim // self.num_groups)
        self.codevectors = self.add_weight(name="codevectors", shape=shape, initializer="uniform")
        super().build(input_shape)

    def call(self, hidden, mask_time_indices=None):
        groups, variables = self.num_groups, self.num_vars
        logits = tf.reshape(self.weight_proj(hidden), (-1, groups, variables))
        probs = tf.one_hot(tf.argmax(logits, axis=-1), variables, dtype=logits.dtype)
        if mask_time_indices is not None:
            keep = tf.cast(tf.reshape(mask_time_indices, (-1, 1, 1)), probs.dtype)
            marginal = tf.reduce_sum(probs * keep, axis=0) / tf.reduce_sum(keep)
        else:
            marginal = tf.reduce_mean(probs, axis=0)
        perplexity = tf.reduce_sum(tf.exp(-tf.reduce_sum(marginal * tf.math.log(marginal + 1e-7), axis=-1)))
        codebook = tf.reshape(self.codevectors, (groups, variables, -1))
        codes = tf.einsum("ngv,gvd->ngd", probs, codebook)
        shape = tf.shape(hidden)
        return tf.reshape(codes, (shape[0], shape[1], -1)), perplexity


class TFWav2Vec2ForPreTraining(TFSpeechTaskModel, TFWav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.quantizer = TFWav2Vec2GumbelVectorQuantizer(config, name="quantizer")
        self.project_hid = dense(config, config.proj_codevector_dim, "project_hid")
        self.project_q = dense(config, config.proj_codevector_dim, "project_q")

    def input_sizes(self):
        c = self.config
        return {**super().input_sizes(), self.quantizer: None, self.project_hid: self.main_layer.output_width,
                self.project_q: c.codevector_dim}  # fmt: skip

    def call(self, input_values=None, attention_mask=None, mask_time_indices=None, sampled_negative_indices=None,
             output_attentions=None, output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        if input_values is None:
            raise ValueError(f"{type(self).__name__} needs input_values.")
        if mask_time_indices is not None:
            mask_time_indices = tf.cast(mask_time_indices, tf.bool)
        encoded = self.main_layer(input_values, attention_mask=attention_mask, mask_time_indices=mask_time_indices,
                                  output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                  training=training)  # fmt: skip
        projected = self.project_hid(encoded.last_hidden_state)
        features = self.dropout(encoded.extract_features, training=training)
        quantized, perplexity = self.quantizer(features, mask_time_indices)
        quantized = self.project_q(quantized)
        loss = contrastive = diversity = None
        if sampled_negative_indices is not None:
            if mask_time_indices is None:
                raise ValueError("The pre-training loss needs mask_time_indices with sampled_negative_indices.")
            contrastive, diversity = self.pretraining_losses(projected, quantized, perplexity, mask_time_indices,
                                                             sampled_negative_indices)  # fmt: skip
            loss = contrastive + self.config.diversity_loss_weight * diversity
        result = out.from_encoded(out.Wav2Vec2ForPreTrainingOutput, encoded, loss=loss, projected_states=projected,
                                  projected_quantized_states=quantized, codevector_perplexity=perplexity,
                                  contrastive_loss=contrastive, diversity_loss=diversity)  # fmt: skip
        return out.finish(result, return_dict)

    def pretraining_losses(self, projected, quantized, perplexity, mask_time_indices, negative_indices):
        """As the PyTorch head: cosine similarity / temperature of each masked step's prediction to its true code
        and to the sampled distractors (a distractor equal to the true code is left out), cross entropy summed
        over the masked steps; plus the codebook diversity loss."""
        c = self.config
        shape = tf.shape(quantized)
        flat = tf.reshape(quantized, (-1, shape[-1]))
        negatives = tf.reshape(tf.gather(flat, tf.reshape(tf.cast(negative_indices, tf.int32), [-1])),
                               (shape[0], shape[1], -1, shape[-1]))  # fmt: skip
        negatives = tf.transpose(negatives, (2, 0, 1, 3))
        candidates = tf.concat([quantized[None], negatives], axis=0)
        logits = cosine_similarity(projected[None], candidates) / c.contrastive_logits_temperature
        same = tf.reduce_all(tf.equal(quantized[None], negatives), axis=-1)
        blocked = tf.concat([tf.zeros_like(same[:1]), same], axis=0)
        logits = tf.where(blocked, tf.constant(-float("inf"), logits.dtype), logits)
        logits = tf.transpose(logits, (1, 2, 0))  # [batch, time, 1 + negatives]
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.zeros(tf.shape(logits)[:2], tf.int32), logits)
        contrastive = tf.reduce_sum(tf.where(mask_time_indices, losses, 0.0))
        codes = c.num_codevectors_per_group * c.num_codevector_groups
        diversity = (codes - perplexity) / codes * tf.reduce_sum(tf.cast(mask_time_indices, perplexity.dtype))
        return contrastive, diversity


def cosine_similarity(a, b):
    """Cosine similarity along the last axis, the product of the norms held at least 1e-8 as PyTorch does."""
    return tf.reduce_sum(a * b, axis=-1) / tf.maximum(tf.norm(a, axis=-1) * tf.norm(b, axis=-1), 1e-8)
