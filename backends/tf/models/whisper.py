"""Whisper in TensorFlow (Keras 3): a convolution front end over log-mel features, then the block library's
pre-norm encoder-decoder (no key bias, final layer norms, learned decoder positions)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.generation import decoder_mask_inputs
from autoload.generation.whisper import outputs_as, transcribe
from autoload.models.whisper import WhisperConfig

from .. import keras_layers
from ..blocks.seq2seq import (
    TFLayerStack,
    TFLearnedPositions,
    TFSeq2SeqForCausalLM,
    TFSeq2SeqMainLayer,
    TFSeq2SeqPreTrainedModel,
    TFSeq2SeqStack,
    encoder_output,
)
from ..generation import TFGenerationMixin
from ..heads import TFBaseModel
from ..losses import sequence_classification_loss, token_loss
from ..modeling import channels_last, dense


class TFWhisperEncoder(TFLayerStack):
    def __init__(self, config: WhisperConfig, embed_tokens=None, decoder: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.conv1 = keras_layers.Conv1D(config.d_model, 3, padding="same", name="conv1")
        self.conv2 = keras_layers.Conv1D(config.d_model, 3, strides=2, padding="valid", name="conv2")
        self.embed_positions = TFLearnedPositions(config, config.max_source_positions, "max_source_positions",
                                                  weight_name="weight", name="embed_positions")  # fmt: skip
        self.build_layers(config, decoder=False)

    def input_sizes(self):  # the convolutions read num_mel_bins, then d_model channels
        return {self.conv1: channels_last(self.config.num_mel_bins, (None,)),
                self.conv2: channels_last(self.config.d_model, (None,)), self.embed_positions: None,
                **super().input_sizes()}  # fmt: skip

    def call(self, input_features, attention_mask=None, inputs_embeds=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        c = self.config
        frames = c.max_source_positions * 2
        if input_features is None or len(input_features.shape) != 3 or tuple(input_features.shape[1:]) != (c.num_mel_bins, frames):
            shape = None if input_features is None else tuple(input_features.shape)
            raise ValueError(f"Whisper expects input_features of shape [batch, {c.num_mel_bins}, {frames}]; got "
                             f"{shape}. Use WhisperFeatureExtractor.")  # fmt: skip
        x = tf.nn.gelu(self.conv1(tf.transpose(input_features, (0, 2, 1))), approximate=False)
        x = tf.nn.gelu(self.conv2(tf.pad(x, [[0, 0], [1, 1], [0, 0]])), approximate=False)
        hidden = self.dropout(x + self.embed_positions.positions(x.shape[1]), training=training)
        return self.run_layers(hidden, None, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, training=training)  # fmt: skip


class TFWhisperDecoder(TFSeq2SeqStack):
    position_weight_name = "weight"


class TFWhisperMainLayer(TFSeq2SeqMainLayer):
    encoder_class = TFWhisperEncoder
    decoder_class = TFWhisperDecoder

    @staticmethod
    def shares_embeddings(config) -> bool:
        return False

    def decoder_inputs_from(self, input_ids):
        raise ValueError("Whisper's decoder needs decoder_input_ids (start with config.decoder_start_token_id).")

    def run_encoder(self, input_features=None, attention_mask=None, inputs_embeds=None, output_attentions=False,
                    output_hidden_states=False, training=False):  # fmt: skip
        return encoder_output(self.encoder(_tensor(input_features), output_attentions=output_attentions,
                                           output_hidden_states=output_hidden_states, training=training))  # fmt: skip

    def call(self, input_features=None, decoder_input_ids=None, decoder_attention_mask=None, encoder_outputs=None,
             past_key_values=None, decoder_inputs_embeds=None, use_cache=False, output_attentions=False,
             output_hidden_states=False, training=False, decoder_position_ids=None):  # fmt: skip
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            self.decoder_inputs_from(None)
        if encoder_outputs is None and input_features is None:
            raise ValueError("Whisper needs input_features (or encoder_outputs).")
        # input_features take the place of input_ids; there is no encoder attention mask
        return super().call(input_features, decoder_input_ids=decoder_input_ids,
                            decoder_attention_mask=decoder_attention_mask, encoder_outputs=encoder_outputs,
                            past_key_values=past_key_values, decoder_inputs_embeds=decoder_inputs_embeds,
                            use_cache=use_cache, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, training=training,
                            decoder_position_ids=decoder_position_ids)  # fmt: skip


def _tensor(value):
    return None if value is None else tf.convert_to_tensor(value)


class TFWhisperPreTrainedModel(TFSeq2SeqPreTrainedModel):
    config_class = WhisperConfig
    main_layer_class = TFWhisperMainLayer
    main_input_name = "input_features"

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"input_features": np.zeros((1, c.num_mel_bins, 2 * c.max_source_positions), np.float32),
                "decoder_input_ids": np.zeros((1, 1), np.int32)}  # fmt: skip


class TFWhisperModel(TFBaseModel, TFWhisperPreTrainedModel):
    def call(self, input_features=None, training=False, return_dict=True, **kwargs):
        return out.finish(self.encode(input_features, training, **kwargs), return_dict)


class TFWhisperForConditionalGeneration(TFGenerationMixin, TFWhisperPreTrainedModel):
    decoder_positions_from_mask = True  # generate() counts a left-padded decoder prompt's positions from its mask
    # A tied head has no proj_out variable: the decoder embedding serves.
    _keys_to_ignore_on_load_unexpected = [r"^proj_out\.weight$"]

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFWhisperMainLayer(config, name="model")
        if not config.tie_word_embeddings:
            self.proj_out = dense(config, config.vocab_size, "proj_out", use_bias=False)

    def input_sizes(self):
        return {self.model: None, getattr(self, "proj_out", None): self.config.d_model}

    def _logits(self, hidden):
        if not self.config.tie_word_embeddings:
            return self.proj_out(hidden)
        return tf.matmul(hidden, self.model.decoder.embed_tokens.weight, transpose_b=True)

    def encode(self, input_features=None, **kwargs):
        return self.model.run_encoder(input_features)

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None,
               decoder_attention_mask=None, decoder_position_ids=None):  # fmt: skip
        decoded = self.model.run_decoder(decoder_input_ids, encoder_outputs.last_hidden_state,
                                         decoder_attention_mask=_tensor(decoder_attention_mask),
                                         past_key_values=past_key_values,
                                         decoder_position_ids=_tensor(decoder_position_ids))  # fmt: skip
        return out.Seq2SeqLMOutput(logits=self._logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def call(self, input_features=None, decoder_input_ids=None, labels=None, use_cache=None, training=False,
             return_dict=True, **kwargs):  # fmt: skip
        if labels is not None and decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            decoder_input_ids = self.model.labels_to_decoder_inputs(labels)
        use_cache = False if training else bool(self.config.use_cache if use_cache is None else use_cache)
        keys = ("decoder_attention_mask", "encoder_outputs", "past_key_values", "decoder_inputs_embeds",
                "output_attentions", "output_hidden_states", "decoder_position_ids")  # fmt: skip
        result = self.model(input_features, decoder_input_ids=decoder_input_ids, use_cache=use_cache, training=training,
                            **{k: kwargs[k] for k in keys if kwargs.get(k) is not None})  # fmt: skip
        logits = self._logits(result.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.Seq2SeqLMOutput, result, loss=loss, logits=logits), return_dict)

    def generate(self, input_features=None, language=None, task=None, return_timestamps=None, **kwargs):
        """Like transformers' Whisper: the transcript tokens of each example without the decoder prompt (start,
        language, task) or end token, with timestamp tokens when return_timestamps; with return_segments=True,
        {"sequences": those, "segments": each example's segments} (autoload.generation.whisper.transcribe)."""
        features = np.asarray(input_features)

        def first_logits(window, tokens, mask=None):
            return self.decode(tokens, self.encode(window), **decoder_mask_inputs(mask)).logits[:, -1].numpy()

        def run(segment, prompt, config, options):
            return TFGenerationMixin.generate(self, input_features=segment, decoder_input_ids=prompt,
                                              generation_config=config, **options).numpy()  # fmt: skip

        def alignment_weights(window, tokens, heads, mask=None):
            attentions = self(input_features=window, decoder_input_ids=tokens, output_attentions=True,
                              **decoder_mask_inputs(mask)).cross_attentions  # fmt: skip
            return np.stack([np.asarray(attentions[layer][:, head], np.float32) for layer, head in heads], 1)

        result = transcribe(self, features, kwargs, language=language, task=task,
                            return_timestamps=return_timestamps, first_logits=first_logits, generate=run,
                            alignment_weights=alignment_weights)  # fmt: skip
        return outputs_as(result, tf.constant)


class TFWhisperForCausalLM(TFSeq2SeqForCausalLM, TFWhisperPreTrainedModel):
    main_input_name = "input_ids"
    decoder_class = TFWhisperDecoder
    lm_head_name = "proj_out"
    marks_decoder = False

    def dummy_inputs(self) -> dict:
        return {"input_ids": np.zeros((1, 1), np.int32)}

    def call(self, input_ids=None, attention_mask=None, encoder_outputs=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        encoder_hidden = encoder_outputs[0] if encoder_outputs is not None else None
        return TFSeq2SeqForCausalLM.call(self, input_ids, attention_mask, encoder_hidden, training=training,
                                         return_dict=return_dict, **kwargs)  # fmt: skip


class TFWhisperForAudioClassification(TFWhisperPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.encoder = TFWhisperEncoder(config, name="encoder")
        self.projector = dense(config, config.classifier_proj_size, "projector")
        self.classifier = dense(config, config.num_labels, "classifier")
        if config.use_weighted_layer_sum:
            count = config.encoder_layers + 1
            self.layer_weights = self.add_weight(name="layer_weights", shape=(count,),
                                                 initializer=keras.initializers.Constant(1 / count))  # fmt: skip

    def input_sizes(self):
        return {self.encoder: None, self.projector: self.config.d_model, self.classifier: self.projector.units}

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"input_features": np.zeros((1, c.num_mel_bins, 2 * c.max_source_positions), np.float32)}

    def call(self, input_features=None, labels=None, output_attentions=False, output_hidden_states=False,
             training=False, return_dict=True, **kwargs):  # fmt: skip
        weighted = self.config.use_weighted_layer_sum
        encoded = self.encoder(_tensor(input_features), output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states or weighted, training=training)  # fmt: skip
        if weighted:
            weights = tf.nn.softmax(self.layer_weights)
            hidden = tf.reduce_sum(tf.stack(encoded.hidden_states, axis=1) * weights[None, :, None, None], axis=1)
        else:
            hidden = encoded.last_hidden_state
        logits = self.classifier(tf.reduce_mean(self.projector(hidden), axis=1))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = out.from_encoded(out.SequenceClassifierOutput, encoder_output(encoded), loss=loss, logits=logits)
        return out.finish(result, return_dict)
