"""TAPAS in Flax (linen; transformers never had one, so the parameter tree mirrors the PyTorch names): BERT's
encoder blocks under TAPAS's embeddings, BERT's masked-LM head and the table question-answering head
(inference; its training loss is PyTorch-only)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.tapas import (
    CLOSE_ENOUGH_TO_LOG_ZERO,
    COLUMN_IDS,
    EPSILON_ZERO_DIVISION,
    ROW_IDS,
    TOKEN_TYPES,
    TapasConfig,
)

from ..blocks.encoder import Encoder, EncoderModule, Pooler, dense
from ..blocks.norms import LayerNorm
from ..heads import FlaxLanguageModelingModel, FlaxSequenceClassificationModel
from ..modeling import FlaxPreTrainedModel
from .bert import FlaxBertOnlyMLMHead


def token_types_or_zeros(token_type_ids, shape):
    if token_type_ids is None:
        return jnp.zeros((*shape, len(TOKEN_TYPES)), "i4")
    return jnp.asarray(token_type_ids).astype("i4")


def positions_per_cell(token_type_ids, max_positions: int):
    """Each token's distance from the first token of its (column, row) cell, capped at max_positions - 1."""
    col, row = token_type_ids[..., COLUMN_IDS], token_type_ids[..., ROW_IDS]
    length = col.shape[1]
    position = jnp.arange(length)
    same = (col[:, :, None] == col[:, None, :]) & (row[:, :, None] == row[:, None, :])
    first = jnp.where(same, position[None, None], length).min(-1)
    return jnp.minimum(position[None] - first, max_positions - 1)


class FlaxTapasEmbeddings(nn.Module):
    config: TapasConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, deterministic=True):
        c = self.config
        init = nn.initializers.normal(c.initializer_range)

        def table(rows, name):
            return nn.Embed(rows, c.hidden_size, embedding_init=init, dtype=self.dtype, name=name)

        words = table(c.vocab_size, "word_embeddings")
        if inputs_embeds is None:
            embeds = words(input_ids.astype("i4"))
        else:
            embeds = jnp.asarray(inputs_embeds, self.dtype)
            if self.is_initializing():
                words(jnp.zeros((1, 1), "i4"))
        token_type_ids = token_types_or_zeros(token_type_ids, embeds.shape[:2])
        if position_ids is None:
            if c.reset_position_index_per_cell:
                position_ids = positions_per_cell(token_type_ids, c.max_position_embeddings)
            else:
                c.encoder_options().check_length(embeds.shape[1])
                position_ids = jnp.arange(embeds.shape[1])[None]
        embeds = embeds + table(c.max_position_embeddings, "position_embeddings")(jnp.asarray(position_ids, "i4"))
        for i, size in enumerate(c.type_vocab_sizes):
            embeds = embeds + table(size, f"token_type_embeddings_{i}")(token_type_ids[:, :, i])
        embeds = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(embeds)
        return nn.Dropout(c.hidden_dropout_prob)(embeds, deterministic=deterministic)


class FlaxTapasModule(EncoderModule):
    def setup(self):
        self.options = self.config.encoder_options()
        self.embeddings = FlaxTapasEmbeddings(self.config, dtype=self.dtype)
        self.encoder = Encoder(self.options, dtype=self.dtype)
        self.pooler = Pooler(self.config.hidden_size, self.config.initializer_range, dtype=self.dtype) \
            if self.add_pooling_layer else None  # fmt: skip


class Table:
    """The cells of a batch of flattened tables (see the PyTorch Table)."""

    def __init__(self, token_type_ids, config: TapasConfig):
        self.rows, self.columns = config.max_num_rows, config.max_num_columns
        row = jnp.minimum(token_type_ids[..., ROW_IDS], self.rows - 1)
        self.column = jnp.minimum(token_type_ids[..., COLUMN_IDS], self.columns - 1)
        self.cell = row * self.columns + self.column
        cells = self.rows * self.columns
        self.one_hot = (self.cell[..., None] == jnp.arange(cells)).astype(jnp.float32)  # [batch, seq, cells]
        self.counts = self.one_hot.sum(1)
        self.column_of_cell = jnp.arange(cells) % self.columns
        self.cell_to_column = (self.column_of_cell[:, None] == jnp.arange(self.columns)).astype(jnp.float32)

    def cell_mean(self, values):
        return jnp.einsum("bs,bsn->bn", values.astype(jnp.float32), self.one_hot) / jnp.maximum(self.counts, 1.0)

    def column_sum(self, cell_values):
        return cell_values @ self.cell_to_column

    def gather(self, cell_values):
        return jnp.take_along_axis(cell_values, self.cell, axis=1)


def column_logits(hidden, weights, bias, table: Table, cell_mask, allow_empty: bool):
    cell_logits = table.cell_mean(jnp.einsum("bsj,j->bs", hidden, weights) + bias)
    cell_count = table.column_sum(cell_mask)
    logits = table.column_sum(cell_logits * cell_mask) / (cell_count + EPSILON_ZERO_DIVISION)
    column = jnp.arange(table.columns)
    logits = logits + CLOSE_ENOUGH_TO_LOG_ZERO * ((cell_count < 0.5) & (column != 0)).astype(jnp.float32)
    if not allow_empty:
        logits = logits + CLOSE_ENOUGH_TO_LOG_ZERO * (column == 0).astype(jnp.float32)
    return logits


def select_one_column(token_logits, col_logits, table: Table, cell_mask):
    logits_per_cell = table.cell_mean(token_logits)
    chosen = jnp.argmax(col_logits, axis=-1)
    selected = (table.column_of_cell[None] == chosen[:, None]) & (table.column_of_cell[None] != 0)
    masked = logits_per_cell + CLOSE_ENOUGH_TO_LOG_ZERO * (1.0 - cell_mask * selected.astype(jnp.float32))
    return table.gather(masked)


class FlaxTapasForQuestionAnsweringModule(nn.Module):
    config: TapasConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, token_type_ids=None, deterministic=True, return_dict=True,
                 labels=None, **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("FlaxTapasForQuestionAnswering does not compute the TAPAS training loss in "
                                      "autoload; train with TapasForQuestionAnswering (PyTorch), or call without "
                                      "labels for the logits.")  # fmt: skip
        c = self.config
        encoded = FlaxTapasModule(c, dtype=self.dtype, name="tapas")(
            input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, deterministic=deterministic,
            **kwargs)  # fmt: skip
        hidden = nn.Dropout(c.hidden_dropout_prob)(encoded.last_hidden_state, deterministic=deterministic)
        token_type_ids = token_types_or_zeros(token_type_ids, hidden.shape[:2])
        table = Table(token_type_ids, c)
        mask = jnp.ones(hidden.shape[:2]) if attention_mask is None else jnp.asarray(attention_mask, jnp.float32)
        cell_mask = table.cell_mean(mask)
        init = nn.initializers.zeros if c.init_cell_selection_weights_to_zero else nn.initializers.normal(
            c.initializer_range)  # fmt: skip
        weights = self.param("output_weights", init, (c.hidden_size,))
        bias = self.param("output_bias", nn.initializers.zeros, ())
        column_weights = self.param("column_output_weights", init, (c.hidden_size,))
        column_bias = self.param("column_output_bias", nn.initializers.zeros, ())
        logits = (jnp.einsum("bsj,j->bs", hidden, weights) + bias) / c.temperature
        # Without select_one_column (where transformers fails) the logits stay the per-token selection scores; the
        # column weights are the checkpoint's all the same.
        col_logits = column_logits(hidden, column_weights, column_bias, table, cell_mask,
                                   c.allow_empty_column_selection)  # fmt: skip
        if c.select_one_column:
            logits = select_one_column(logits, col_logits, table, cell_mask)
        logits_aggregation = None
        if c.num_aggregation_labels > 0:
            classifier = dense(c.num_aggregation_labels, c.initializer_range, self.dtype, "aggregation_classifier")
            logits_aggregation = classifier(encoded.pooler_output)
        result = out.from_encoded(out.TableQuestionAnsweringOutput, encoded, logits=logits,
                                  logits_aggregation=logits_aggregation)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxTapasPreTrainedModel(FlaxPreTrainedModel):
    config_class = TapasConfig
    base_model_prefix = "tapas"
    base_module = FlaxTapasModule
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"cls\.predictions\.decoder\.(weight|bias)$"]

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, token_type_ids=token_type_ids,
                                position_ids=position_ids, **kwargs)  # fmt: skip


class FlaxTapasModel(FlaxTapasPreTrainedModel):
    module_class = FlaxTapasModule


class FlaxTapasForMaskedLM(FlaxLanguageModelingModel, FlaxTapasPreTrainedModel):
    lm_head = FlaxBertOnlyMLMHead
    embedding_path = ("embeddings", "word_embeddings", "embedding")


class FlaxTapasForSequenceClassification(FlaxSequenceClassificationModel, FlaxTapasPreTrainedModel):
    pass


class FlaxTapasForQuestionAnswering(FlaxTapasPreTrainedModel):
    module_class = FlaxTapasForQuestionAnsweringModule
