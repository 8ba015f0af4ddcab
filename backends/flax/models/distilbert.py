"""DistilBERT in Flax, with transformers' Flax parameter names."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.distilbert import DistilBertConfig

from ..activations import get_activation
from ..modeling import FlaxPreTrainedModel
from .bert import attention_bias


def _dense(config, features, dtype):
    return nn.Dense(features, dtype=dtype, kernel_init=nn.initializers.normal(config.initializer_range))


class FlaxEmbeddings(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c, init = self.config, nn.initializers.normal(self.config.initializer_range)
        self.word_embeddings = nn.Embed(c.vocab_size, c.dim, embedding_init=init, dtype=self.dtype)
        if not c.sinusoidal_pos_embds:
            self.position_embeddings = nn.Embed(c.max_position_embeddings, c.dim, embedding_init=init, dtype=self.dtype)
        self.LayerNorm = nn.LayerNorm(epsilon=1e-12, dtype=self.dtype)
        self.dropout = nn.Dropout(c.dropout)

    def __call__(self, input_ids, deterministic=True):
        length = input_ids.shape[-1]
        if length > self.config.max_position_embeddings:
            raise ValueError(
                f"Sequence length {length} is longer than max_position_embeddings ({self.config.max_position_embeddings})."
            )
        if self.config.sinusoidal_pos_embds:
            from autoload.backends.torch.models.distilbert import sinusoidal_table  # noqa: PLC0415 - numpy-only helper

            positions = jnp.asarray(np.asarray(sinusoidal_table(length, self.config.dim)))[None]
        else:
            positions = self.position_embeddings(jnp.arange(length)[None])
        embeds = self.word_embeddings(input_ids.astype("i4")) + positions
        return self.dropout(self.LayerNorm(embeds), deterministic=deterministic)


class FlaxMultiHeadSelfAttention(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.q_lin, self.k_lin = _dense(c, c.dim, self.dtype), _dense(c, c.dim, self.dtype)
        self.v_lin, self.out_lin = _dense(c, c.dim, self.dtype), _dense(c, c.dim, self.dtype)
        self.dropout = nn.Dropout(c.attention_dropout)

    def __call__(self, hidden, bias, deterministic=True):
        heads, dim = self.config.n_heads, self.config.dim // self.config.n_heads
        split = lambda x: x.reshape(x.shape[:2] + (heads, dim))  # noqa: E731
        q, k, v = split(self.q_lin(hidden)), split(self.k_lin(hidden)), split(self.v_lin(hidden))
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(dim).astype(np.float32)
        if bias is not None:
            scores = scores + bias
        probs = self.dropout(jax.nn.softmax(scores, axis=-1), deterministic=deterministic)
        return self.out_lin(jnp.einsum("bhqk,bkhd->bqhd", probs, v).reshape(hidden.shape))


class FlaxFFN(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.lin1 = _dense(self.config, self.config.hidden_dim, self.dtype)
        self.lin2 = _dense(self.config, self.config.dim, self.dtype)
        self.act = get_activation(self.config.activation)
        self.dropout = nn.Dropout(self.config.dropout)

    def __call__(self, x, deterministic=True):
        return self.dropout(self.lin2(self.act(self.lin1(x))), deterministic=deterministic)


class FlaxTransformerBlock(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.attention = FlaxMultiHeadSelfAttention(self.config, dtype=self.dtype)
        self.sa_layer_norm = nn.LayerNorm(epsilon=1e-12, dtype=self.dtype)
        self.ffn = FlaxFFN(self.config, dtype=self.dtype)
        self.output_layer_norm = nn.LayerNorm(epsilon=1e-12, dtype=self.dtype)

    def __call__(self, hidden, bias, deterministic=True):
        hidden = self.sa_layer_norm(self.attention(hidden, bias, deterministic) + hidden)
        return self.output_layer_norm(self.ffn(hidden, deterministic) + hidden)


class FlaxTransformerLayers(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.blocks = [FlaxTransformerBlock(self.config, dtype=self.dtype, name=str(i)) for i in range(self.config.n_layers)]

    def __call__(self, hidden, bias, deterministic=True):
        states = (hidden,)
        for block in self.blocks:
            hidden = block(hidden, bias, deterministic)
            states += (hidden,)
        return hidden, states


class FlaxTransformer(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.layer = FlaxTransformerLayers(self.config, dtype=self.dtype)

    def __call__(self, hidden, bias, deterministic=True):
        return self.layer(hidden, bias, deterministic)


class FlaxDistilBertModule(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.embeddings = FlaxEmbeddings(self.config, dtype=self.dtype)
        self.transformer = FlaxTransformer(self.config, dtype=self.dtype)

    def __call__(self, input_ids, attention_mask=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        hidden = self.embeddings(input_ids, deterministic)
        hidden, states = self.transformer(hidden, attention_bias(attention_mask, hidden.dtype), deterministic)
        result = out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None)
        return out.finish(result, return_dict)


def _base(module, input_ids, kwargs):
    keys = ("attention_mask", "deterministic", "output_hidden_states")
    return module.distilbert(input_ids, **{k: kwargs[k] for k in keys if k in kwargs})


class FlaxTiedProjection(nn.Module):
    """Scores against the (shared) word embedding matrix plus this layer's own bias."""

    features: int

    @nn.compact
    def __call__(self, hidden, embedding):
        return hidden @ embedding.T + self.param("bias", nn.initializers.zeros, (self.features,))


class FlaxDistilBertForMaskedLMModule(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.distilbert = FlaxDistilBertModule(c, dtype=self.dtype)
        self.vocab_transform = _dense(c, c.dim, self.dtype)
        self.vocab_layer_norm = nn.LayerNorm(epsilon=1e-12, dtype=self.dtype)
        self.act = get_activation(c.activation)
        tied = c.tie_word_embeddings
        self.vocab_projector = FlaxTiedProjection(c.vocab_size) if tied else nn.Dense(c.vocab_size, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = _base(self, input_ids, kwargs)
        hidden = self.vocab_layer_norm(self.act(self.vocab_transform(encoded.last_hidden_state)))
        if self.config.tie_word_embeddings:
            shared = self.distilbert.variables["params"]["embeddings"]["word_embeddings"]["embedding"]
            logits = self.vocab_projector(hidden, shared)
        else:
            logits = self.vocab_projector(hidden)
        return out.finish(out.MaskedLMOutput(logits=logits, hidden_states=encoded.hidden_states), return_dict)


class FlaxDistilBertForSequenceClassificationModule(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32
    num_outputs: int | None = None

    def setup(self):
        c = self.config
        self.distilbert = FlaxDistilBertModule(c, dtype=self.dtype)
        self.pre_classifier = _dense(c, c.dim, self.dtype)
        self.dropout = nn.Dropout(c.seq_classif_dropout)
        self.classifier = _dense(c, self.num_outputs or c.num_labels, self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        choices = input_ids.shape[1] if self.num_outputs == 1 else None
        if choices:
            input_ids = input_ids.reshape((-1, input_ids.shape[-1]))
            kwargs = {k: (v.reshape((-1, v.shape[-1])) if k == "attention_mask" and v is not None else v)
                      for k, v in kwargs.items()}  # fmt: skip
        encoded = _base(self, input_ids, kwargs)
        pooled = nn.relu(self.pre_classifier(encoded.last_hidden_state[:, 0]))
        logits = self.classifier(self.dropout(pooled, deterministic=kwargs.get("deterministic", True)))
        if choices:
            return out.finish(out.MultipleChoiceModelOutput(logits=logits.reshape((-1, choices)),
                           hidden_states=encoded.hidden_states), return_dict)  # fmt: skip
        return out.finish(out.SequenceClassifierOutput(logits=logits, hidden_states=encoded.hidden_states), return_dict)


class FlaxDistilBertForTokenClassificationModule(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.distilbert = FlaxDistilBertModule(self.config, dtype=self.dtype)
        self.dropout = nn.Dropout(self.config.dropout)
        self.classifier = _dense(self.config, self.config.num_labels, self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = _base(self, input_ids, kwargs)
        hidden = self.dropout(encoded.last_hidden_state, deterministic=kwargs.get("deterministic", True))
        return out.finish(out.TokenClassifierOutput(logits=self.classifier(hidden), hidden_states=encoded.hidden_states),
                       return_dict)  # fmt: skip


class FlaxDistilBertForQuestionAnsweringModule(nn.Module):
    config: DistilBertConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.distilbert = FlaxDistilBertModule(self.config, dtype=self.dtype)
        self.qa_outputs = _dense(self.config, 2, self.dtype)
        self.dropout = nn.Dropout(self.config.qa_dropout)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = _base(self, input_ids, kwargs)
        hidden = self.dropout(encoded.last_hidden_state, deterministic=kwargs.get("deterministic", True))
        start, end = jnp.split(self.qa_outputs(hidden), 2, axis=-1)
        return out.finish(out.QuestionAnsweringModelOutput(start_logits=start.squeeze(-1), end_logits=end.squeeze(-1),
                       hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class FlaxDistilBertPreTrainedModel(FlaxPreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    _tied_weights_keys = []

    def __call__(self, input_ids=None, attention_mask=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, **kwargs)


def _model(name, module_class, dummy_shape=(1, 1), **module_kwargs):
    def __init__(self, config, *args, **kwargs):
        FlaxDistilBertPreTrainedModel.__init__(self, config, *args, **module_kwargs, **kwargs)

    attrs = {"module_class": module_class, "__module__": __name__, "__init__": __init__,
             "dummy_inputs": lambda self: {"input_ids": jnp.zeros(dummy_shape, dtype="i4")}}  # fmt: skip
    return type(name, (FlaxDistilBertPreTrainedModel,), attrs)


FlaxDistilBertModel = _model("FlaxDistilBertModel", FlaxDistilBertModule)
FlaxDistilBertForMaskedLM = _model("FlaxDistilBertForMaskedLM", FlaxDistilBertForMaskedLMModule)
FlaxDistilBertForSequenceClassification = _model("FlaxDistilBertForSequenceClassification",
                                                 FlaxDistilBertForSequenceClassificationModule)  # fmt: skip
FlaxDistilBertForMultipleChoice = _model("FlaxDistilBertForMultipleChoice", FlaxDistilBertForSequenceClassificationModule,
                                         (1, 1, 1), num_outputs=1)  # fmt: skip
FlaxDistilBertForTokenClassification = _model("FlaxDistilBertForTokenClassification",
                                              FlaxDistilBertForTokenClassificationModule)  # fmt: skip
FlaxDistilBertForQuestionAnswering = _model("FlaxDistilBertForQuestionAnswering", FlaxDistilBertForQuestionAnsweringModule)
