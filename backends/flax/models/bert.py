"""BERT in Flax (flax.linen), with transformers' Flax parameter tree so flax_model.msgpack files interchange."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.bert import BertConfig

from ..activations import get_activation
from ..heads import (
    FlaxLanguageModelingModel,
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTokenClassificationModel,
)
from ..modeling import FlaxPreTrainedModel


def _dense(config, features, dtype, name=None):
    return nn.Dense(features, dtype=dtype, kernel_init=nn.initializers.normal(config.initializer_range), name=name)


def attention_bias(attention_mask, dtype, causal_len: int | None = None):
    """[batch, seq] 1/0 -> additive [batch, 1, q, seq] bias (0 keep, dtype min drop), or None."""
    neg = jnp.finfo(dtype).min
    bias = None
    if attention_mask is not None:
        bias = jnp.where(attention_mask[:, None, None, :] > 0, 0.0, neg).astype(dtype)
    if causal_len is not None:
        causal = jnp.where(jnp.tril(jnp.ones((causal_len, causal_len), bool)), 0.0, neg).astype(dtype)[None, None]
        bias = causal if bias is None else jnp.maximum(bias + causal, neg)
    return bias


class FlaxBertEmbeddings(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c, init = self.config, nn.initializers.normal(self.config.initializer_range)
        embed = lambda rows: nn.Embed(rows, c.hidden_size, embedding_init=init, dtype=self.dtype)  # noqa: E731
        self.word_embeddings = embed(c.vocab_size)
        self.position_embeddings = embed(c.max_position_embeddings)
        self.token_type_embeddings = embed(c.type_vocab_size)
        self.LayerNorm = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def __call__(self, input_ids, token_type_ids, position_ids, deterministic=True):
        if input_ids.shape[-1] > self.config.max_position_embeddings:
            raise ValueError(
                f"Sequence length {input_ids.shape[-1]} is longer than max_position_embeddings "
                f"({self.config.max_position_embeddings}); truncate the inputs."
            )
        embeds = (self.word_embeddings(input_ids.astype("i4")) + self.position_embeddings(position_ids.astype("i4"))
                  + self.token_type_embeddings(token_type_ids.astype("i4")))  # fmt: skip
        return self.dropout(self.LayerNorm(embeds), deterministic=deterministic)


class FlaxBertSelfAttention(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.head_dim = c.hidden_size // c.num_attention_heads
        self.query = _dense(c, c.hidden_size, self.dtype)
        self.key = _dense(c, c.hidden_size, self.dtype)
        self.value = _dense(c, c.hidden_size, self.dtype)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def _heads(self, x):
        return x.reshape(x.shape[:2] + (self.config.num_attention_heads, self.head_dim))

    def __call__(self, hidden, bias, deterministic=True, output_attentions=False):
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(self.head_dim).astype(self.dtype)
        if bias is not None:
            scores = scores + bias
        probs = self.dropout(jax.nn.softmax(scores, axis=-1), deterministic=deterministic)
        context = jnp.einsum("bhqk,bkhd->bqhd", probs, v).reshape(hidden.shape)
        return context, (probs if output_attentions else None)


class FlaxBertSelfOutput(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.dense = _dense(self.config, self.config.hidden_size, self.dtype)
        self.LayerNorm = nn.LayerNorm(epsilon=self.config.layer_norm_eps, dtype=self.dtype)
        self.dropout = nn.Dropout(self.config.hidden_dropout_prob)

    def __call__(self, hidden, residual, deterministic=True):
        return self.LayerNorm(self.dropout(self.dense(hidden), deterministic=deterministic) + residual)


class FlaxBertAttention(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.self = FlaxBertSelfAttention(self.config, dtype=self.dtype)
        self.output = FlaxBertSelfOutput(self.config, dtype=self.dtype)

    def __call__(self, hidden, bias, deterministic=True, output_attentions=False):
        context, probs = self.self(hidden, bias, deterministic, output_attentions)
        return self.output(context, hidden, deterministic), probs


class FlaxBertIntermediate(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.dense = _dense(self.config, self.config.intermediate_size, self.dtype)
        self.act = get_activation(self.config.hidden_act)

    def __call__(self, hidden):
        return self.act(self.dense(hidden))


class FlaxBertLayer(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.attention = FlaxBertAttention(self.config, dtype=self.dtype)
        self.intermediate = FlaxBertIntermediate(self.config, dtype=self.dtype)
        self.output = FlaxBertSelfOutput(self.config, dtype=self.dtype)

    def __call__(self, hidden, bias, deterministic=True, output_attentions=False):
        attended, probs = self.attention(hidden, bias, deterministic, output_attentions)
        return self.output(self.intermediate(attended), attended, deterministic), probs


class FlaxBertLayerCollection(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.layers = [FlaxBertLayer(self.config, dtype=self.dtype, name=str(i))
                       for i in range(self.config.num_hidden_layers)]  # fmt: skip

    def __call__(self, hidden, bias, deterministic=True, output_attentions=False, output_hidden_states=False):
        states, attentions = (hidden,), ()
        for layer in self.layers:
            hidden, probs = layer(hidden, bias, deterministic, output_attentions)
            states, attentions = states + (hidden,), attentions + (probs,)
        return hidden, (states if output_hidden_states else None), (attentions if output_attentions else None)


class FlaxBertEncoder(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.layer = FlaxBertLayerCollection(self.config, dtype=self.dtype)

    def __call__(self, *args, **kwargs):
        return self.layer(*args, **kwargs)


class FlaxBertPooler(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.dense = _dense(self.config, self.config.hidden_size, self.dtype)

    def __call__(self, hidden):
        return jnp.tanh(self.dense(hidden[:, 0]))


class FlaxBertModule(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32
    add_pooling_layer: bool = True

    def setup(self):
        self.embeddings = FlaxBertEmbeddings(self.config, dtype=self.dtype)
        self.encoder = FlaxBertEncoder(self.config, dtype=self.dtype)
        self.pooler = FlaxBertPooler(self.config, dtype=self.dtype) if self.add_pooling_layer else None

    def __call__(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, deterministic=True,
                 output_attentions=False, output_hidden_states=False, return_dict=True):  # fmt: skip
        if token_type_ids is None:
            token_type_ids = jnp.zeros_like(input_ids)
        if position_ids is None:
            position_ids = jnp.broadcast_to(jnp.arange(input_ids.shape[-1]), input_ids.shape)
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, deterministic)
        bias = attention_bias(attention_mask, hidden.dtype, input_ids.shape[-1] if self.config.is_decoder else None)
        hidden, states, attentions = self.encoder(hidden, bias, deterministic, output_attentions, output_hidden_states)
        pooled = self.pooler(hidden) if self.pooler is not None else None
        result = out.BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden, pooler_output=pooled, hidden_states=states, attentions=attentions
        )
        return out.finish(result, return_dict)


class FlaxBertLMPredictionHead(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.transform = _Transform(c, dtype=self.dtype)
        if not c.tie_word_embeddings:
            self.decoder = nn.Dense(c.vocab_size, dtype=self.dtype, use_bias=False)
        self.bias = self.param("bias", nn.initializers.zeros, (c.vocab_size,))

    def __call__(self, hidden, shared_embedding):
        hidden = self.transform(hidden)
        if self.config.tie_word_embeddings:
            logits = hidden @ shared_embedding.T.astype(self.dtype)
        else:
            logits = self.decoder(hidden)
        return logits + self.bias.astype(self.dtype)


class _Transform(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.dense = _dense(self.config, self.config.hidden_size, self.dtype)
        self.act = get_activation(self.config.hidden_act)
        self.LayerNorm = nn.LayerNorm(epsilon=self.config.layer_norm_eps, dtype=self.dtype)

    def __call__(self, hidden):
        return self.LayerNorm(self.act(self.dense(hidden)))


class FlaxBertOnlyMLMHead(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.predictions = FlaxBertLMPredictionHead(self.config, dtype=self.dtype)

    def __call__(self, hidden, shared_embedding):
        return self.predictions(hidden, shared_embedding)


class FlaxBertPreTrainingHeads(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.predictions = FlaxBertLMPredictionHead(self.config, dtype=self.dtype)
        self.seq_relationship = nn.Dense(2, dtype=self.dtype)

    def __call__(self, hidden, pooled, shared_embedding):
        return self.predictions(hidden, shared_embedding), self.seq_relationship(pooled)


class FlaxBertOnlyNSPHead(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.seq_relationship = nn.Dense(2, dtype=self.dtype)

    def __call__(self, pooled):
        return self.seq_relationship(pooled)


def _encoder_kwargs(kwargs: dict) -> dict:
    keys = ("attention_mask", "token_type_ids", "position_ids", "deterministic", "output_attentions",
            "output_hidden_states")  # fmt: skip
    return {k: kwargs[k] for k in keys if k in kwargs}


def _shared(module) -> jnp.ndarray:
    return module.bert.variables["params"]["embeddings"]["word_embeddings"]["embedding"]


class FlaxBertForPreTrainingModule(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.bert = FlaxBertModule(self.config, dtype=self.dtype)
        self.cls = FlaxBertPreTrainingHeads(self.config, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.bert(input_ids, **_encoder_kwargs(kwargs))
        scores, relationship = self.cls(encoded.last_hidden_state, encoded.pooler_output, _shared(self))
        result = out.from_encoded(out.BertForPreTrainingOutput, encoded, prediction_logits=scores,
                                  seq_relationship_logits=relationship)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxBertForNextSentencePredictionModule(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.bert = FlaxBertModule(self.config, dtype=self.dtype)
        self.cls = FlaxBertOnlyNSPHead(self.config, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.bert(input_ids, **_encoder_kwargs(kwargs))
        result = out.from_encoded(out.NextSentencePredictorOutput, encoded, logits=self.cls(encoded.pooler_output))
        return out.finish(result, return_dict)


class FlaxBertPreTrainedModel(FlaxPreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    base_module = FlaxBertModule
    # Older PyTorch checkpoints store the position ids buffer and the decoder's copies of the tied
    # embedding matrix and of cls.predictions.bias; the Flax tree has no such leaves.
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"cls\.predictions\.decoder\.(weight|bias)$"]

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, token_type_ids=token_type_ids,
                                position_ids=position_ids, **kwargs)  # fmt: skip


class FlaxBertModel(FlaxBertPreTrainedModel):
    module_class = FlaxBertModule


class FlaxBertForPreTraining(FlaxBertPreTrainedModel):
    module_class = FlaxBertForPreTrainingModule


class FlaxBertForNextSentencePrediction(FlaxBertPreTrainedModel):
    module_class = FlaxBertForNextSentencePredictionModule


class FlaxBertForMaskedLM(FlaxLanguageModelingModel, FlaxBertPreTrainedModel):
    lm_head = FlaxBertOnlyMLMHead
    embedding_path = ("embeddings", "word_embeddings", "embedding")


class FlaxBertLMHeadModel(FlaxBertForMaskedLM):
    """BERT as a causal LM (transformers' name: FlaxBertForCausalLM); causal when config.is_decoder."""

    output_class = out.CausalLMOutputWithCrossAttentions


FlaxBertForCausalLM = FlaxBertLMHeadModel


class FlaxBertForSequenceClassification(FlaxSequenceClassificationModel, FlaxBertPreTrainedModel):
    pass


class FlaxBertForMultipleChoice(FlaxMultipleChoiceModel, FlaxBertPreTrainedModel):
    pass


class FlaxBertForTokenClassification(FlaxTokenClassificationModel, FlaxBertPreTrainedModel):
    pass


class FlaxBertForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxBertPreTrainedModel):
    pass
