"""TAPAS in TensorFlow (Keras 3): BERT's encoder blocks under TAPAS's embeddings, named like transformers' TF
TAPAS (`tapas/embeddings/token_type_embeddings_0/embeddings`, …) so tf_model.h5 files interchange, BERT's
masked-LM head, and the table question-answering head (inference; its training loss is PyTorch-only)."""

from __future__ import annotations

import keras
import tensorflow as tf

from autoload import outputs as out
from autoload.models.tapas import (
    CLOSE_ENOUGH_TO_LOG_ZERO,
    COLUMN_IDS,
    EPSILON_ZERO_DIVISION,
    ROW_IDS,
    TOKEN_TYPES,
    TapasConfig,
)

from ..blocks.encoder import TFEncoder, TFEncoderMainLayer, TFPooler
from ..heads import TFBaseModel, TFLanguageModelingModel, TFSequenceClassificationModel, TFTaskModel
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, weights_init
from .bert import TFBertMLMHead


def token_types_or_zeros(token_type_ids, shape):
    if token_type_ids is None:
        return tf.zeros((shape[0], shape[1], len(TOKEN_TYPES)), tf.int32)
    return tf.cast(token_type_ids, tf.int32)


def positions_per_cell(token_type_ids, max_positions: int):
    """Each token's distance from the first token of its (column, row) cell, capped at max_positions - 1."""
    col, row = token_type_ids[..., COLUMN_IDS], token_type_ids[..., ROW_IDS]
    length = tf.shape(col)[1]
    position = tf.range(length)
    same = (col[:, :, None] == col[:, None, :]) & (row[:, :, None] == row[:, None, :])
    first = tf.reduce_min(tf.where(same, position[None, None], length), axis=-1)
    return tf.minimum(position[None] - first, max_positions - 1)


class TFTapasEmbeddings(Layer):
    def __init__(self, config: TapasConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        init, width = weights_init(config), config.hidden_size
        self.word_embeddings = NamedWeight((config.vocab_size, width), "weight", init, name="word_embeddings")
        self.position_embeddings = NamedWeight((config.max_position_embeddings, width), "embeddings", init,
                                               name="position_embeddings")  # fmt: skip
        self.token_type_embeddings = [NamedWeight((size, width), "embeddings", init, name=f"token_type_embeddings_{i}")
                                      for i, size in enumerate(config.type_vocab_sizes)]  # fmt: skip
        self.LayerNorm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, training=False):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else tf.convert_to_tensor(inputs_embeds)
        if inputs_embeds is not None and not self.word_embeddings.built:
            self.word_embeddings.build()
        token_type_ids = token_types_or_zeros(token_type_ids, tf.shape(embeds))
        if position_ids is None:
            if self.config.reset_position_index_per_cell:
                position_ids = positions_per_cell(token_type_ids, self.config.max_position_embeddings)
            else:
                self.config.encoder_options().check_length(embeds.shape[1])
                position_ids = tf.range(tf.shape(embeds)[1])[None]
        embeds = embeds + self.position_embeddings(position_ids)
        for i, table in enumerate(self.token_type_embeddings):
            embeds = embeds + table(token_type_ids[:, :, i])
        return self.dropout(self.LayerNorm(embeds), training=training)


class TFTapasMainLayer(TFEncoderMainLayer):
    def __init__(self, config: TapasConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.options = config.encoder_options()
        self.embeddings = TFTapasEmbeddings(config, name="embeddings")
        self.encoder = TFEncoder(self.options, name="encoder")
        self.pooler = TFPooler(self.options, name="pooler") if add_pooling_layer else None


class TFTapasPreTrainedModel(TFPreTrainedModel):
    config_class = TapasConfig
    base_model_prefix = "tapas"
    main_layer_class = TFTapasMainLayer
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"cls\.predictions\.decoder\.(weight|bias)$"]

    @property
    def input_signature(self) -> dict[str, tf.TensorSpec]:
        specs = super().input_signature
        specs["token_type_ids"] = tf.TensorSpec((None, None, len(TOKEN_TYPES)), tf.int32, name="token_type_ids")
        return specs


class TFTapasModel(TFBaseModel, TFTapasPreTrainedModel):
    pass


class TFTapasForMaskedLM(TFLanguageModelingModel, TFTapasPreTrainedModel):
    def build_lm_head(self, config):
        return TFBertMLMHead(config, self.main_layer.embeddings.word_embeddings, name="cls")


class TFTapasForSequenceClassification(TFSequenceClassificationModel, TFTapasPreTrainedModel):
    pass


class Table:
    """The cells of a batch of flattened tables (see the PyTorch Table): each token's cell row * columns + column,
    rows and columns capped at config.max_num_rows / max_num_columns - 1."""

    def __init__(self, token_type_ids, config: TapasConfig):
        self.rows, self.columns = config.max_num_rows, config.max_num_columns
        row = tf.minimum(token_type_ids[..., ROW_IDS], self.rows - 1)
        self.column = tf.minimum(token_type_ids[..., COLUMN_IDS], self.columns - 1)
        self.cell = row * self.columns + self.column
        self.one_hot = tf.one_hot(self.cell, self.rows * self.columns)  # [batch, seq, cells]
        self.counts = tf.reduce_sum(self.one_hot, axis=1)
        self.column_of_cell = tf.range(self.rows * self.columns) % self.columns
        self.cell_to_column = tf.one_hot(self.column_of_cell, self.columns)

    def cell_mean(self, values):
        sums = tf.einsum("bs,bsn->bn", tf.cast(values, tf.float32), self.one_hot)
        return sums / tf.maximum(self.counts, 1.0)

    def column_sum(self, cell_values):
        return tf.matmul(cell_values, self.cell_to_column)

    def gather(self, cell_values):
        return tf.gather(cell_values, self.cell, batch_dims=1)


def column_logits(hidden, weights, bias, table: Table, cell_mask, allow_empty: bool):
    """Per column: the mean over its cells of the mean token score; -10000 for empty columns (and column 0
    unless allow_empty_column_selection)."""
    cell_logits = table.cell_mean(tf.einsum("bsj,j->bs", hidden, weights) + bias)
    cell_count = table.column_sum(cell_mask)
    logits = table.column_sum(cell_logits * cell_mask) / (cell_count + EPSILON_ZERO_DIVISION)
    column = tf.range(table.columns)
    logits = logits + CLOSE_ENOUGH_TO_LOG_ZERO * tf.cast((cell_count < 0.5) & (column != 0), tf.float32)
    if not allow_empty:
        logits = logits + CLOSE_ENOUGH_TO_LOG_ZERO * tf.cast(column == 0, tf.float32)
    return logits


def select_one_column(token_logits, col_logits, table: Table, cell_mask):
    """The token logits of the cells of the column the model picks; -10000 added everywhere else."""
    logits_per_cell = table.cell_mean(token_logits)
    chosen = tf.argmax(col_logits, axis=-1, output_type=tf.int32)
    selected = (table.column_of_cell[None] == chosen[:, None]) & (table.column_of_cell[None] != 0)
    masked = logits_per_cell + CLOSE_ENOUGH_TO_LOG_ZERO * (1.0 - cell_mask * tf.cast(selected, tf.float32))
    return table.gather(masked)


class TFTapasForQuestionAnswering(TFTaskModel, TFTapasPreTrainedModel):
    """Cell selection restricted to one column, and aggregation on the pooled output (see the PyTorch class).
    The training loss is computed by the PyTorch class only; passing labels here is refused."""

    output_class = out.TableQuestionAnsweringOutput

    def __init__(self, config: TapasConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        init = "zeros" if config.init_cell_selection_weights_to_zero else weights_init(config)
        self.output_weights = self.add_weight(name="output_weights", shape=(config.hidden_size,), initializer=init)
        self.output_bias = self.add_weight(name="output_bias", shape=(), initializer="zeros")
        self.column_output_weights = self.add_weight(name="column_output_weights", shape=(config.hidden_size,),
                                                     initializer=init)  # fmt: skip
        self.column_output_bias = self.add_weight(name="column_output_bias", shape=(), initializer="zeros")
        if config.num_aggregation_labels > 0:
            self.add_output_layer(config.num_aggregation_labels)

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, table_mask=None, labels=None,
             aggregation_labels=None, float_answer=None, numeric_values=None, numeric_values_scale=None,
             training=False, return_dict=True, **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("TFTapasForQuestionAnswering does not compute the TAPAS training loss in "
                                      "autoload; train with TapasForQuestionAnswering (PyTorch), or call without "
                                      "labels for the logits.")  # fmt: skip
        config = self.config
        encoded = self.encode(input_ids, training, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              **kwargs)  # fmt: skip
        hidden = self.dropout(encoded.last_hidden_state, training=training)
        shape = tf.shape(hidden)
        token_type_ids = token_types_or_zeros(token_type_ids, shape)
        table = Table(token_type_ids, config)
        mask = tf.ones(shape[:2], tf.float32) if attention_mask is None else tf.cast(attention_mask, tf.float32)
        cell_mask = table.cell_mean(mask)
        logits = (tf.einsum("bsj,j->bs", hidden, self.output_weights) + self.output_bias) / config.temperature
        if not config.select_one_column:
            raise ValueError("TapasForQuestionAnswering without labels restricts the selection to one column, "
                             "which needs config.select_one_column=True (transformers fails here too).")
        col_logits = column_logits(hidden, self.column_output_weights, self.column_output_bias, table, cell_mask,
                                   config.allow_empty_column_selection)  # fmt: skip
        logits = select_one_column(logits, col_logits, table, cell_mask)
        logits_aggregation = None
        if config.num_aggregation_labels > 0:
            logits_aggregation = self.aggregation_classifier(encoded.pooler_output)
        result = out.from_encoded(self.output_class, encoded, logits=logits, logits_aggregation=logits_aggregation)
        return out.finish(result, return_dict)
