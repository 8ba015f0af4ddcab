"""TAPAS in TensorFlow (Keras 3): BERT's encoder blocks under TAPAS's embeddings, named like transformers' TF
TAPAS (`tapas/embeddings/token_type_embeddings_0/embeddings`, …) so tf_model.h5 files interchange, BERT's
masked-LM head, and the table question-answering head with its training loss."""

from __future__ import annotations

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

from .. import keras_layers
from ..blocks.encoder import TFEncoder, TFEncoderMainLayer, TFPooler
from ..heads import TFBaseModel, TFLanguageModelingModel, TFSequenceClassificationModel, TFTaskModel
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, weights_init
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
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.dropout = Dropout(config.hidden_dropout_prob)

    def input_sizes(self):
        return {self.word_embeddings: None, self.position_embeddings: None, **dict.fromkeys(self.token_type_embeddings),
                self.LayerNorm: self.config.hidden_size}  # fmt: skip

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

    def cell_max(self, values):
        """Max of non-negative token values per cell; 0 for empty cells."""
        return tf.reduce_max(tf.cast(values, tf.float32)[:, :, None] * self.one_hot, axis=1)

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


def bernoulli_log_prob(logits, values):
    return -tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(values, logits.dtype), logits=logits)


def single_column_loss(token_logits, col_logits, labels, table: Table, cell_mask):
    """The hierarchical cell-selection loss per example (see the PyTorch function of the same role)."""
    labels_per_column = tf.einsum("bs,bsc->bc", tf.cast(labels, tf.float32), tf.one_hot(table.column, table.columns))
    no_cell_selected = tf.reduce_max(labels_per_column, axis=-1) == 0
    column_label = tf.where(no_cell_selected, 0, tf.argmax(labels_per_column, axis=-1, output_type=tf.int32))
    column_loss = -tf.gather(tf.nn.log_softmax(col_logits, axis=-1), column_label, batch_dims=1)
    logits_per_cell = table.cell_mean(token_logits)
    column_mask = tf.cast(table.column_of_cell[None] == column_label[:, None], tf.float32)
    cell_log_prob = bernoulli_log_prob(logits_per_cell, table.cell_max(labels))
    cell_loss = -tf.reduce_sum(cell_log_prob * column_mask * cell_mask, axis=1) / (
        tf.reduce_sum(column_mask * cell_mask, axis=1) + EPSILON_ZERO_DIVISION)  # fmt: skip
    return column_loss + tf.where(no_cell_selected, tf.zeros_like(cell_loss), cell_loss)


def huber(prediction, target, delta: float):
    errors = tf.abs(prediction - target)
    return tf.where(errors < delta, 0.5 * errors**2, errors * delta - 0.5 * delta**2)


class TapasLoss:
    """transformers' TAPAS training loss in TF (the PyTorch TapasForQuestionAnswering documents each part);
    the Gumbel-sampled variants (use_gumbel_for_cells / use_gumbel_for_aggregation) are PyTorch-only."""

    def __init__(self, config: TapasConfig, aggregation_classifier):
        self.config, self.aggregation_classifier = config, aggregation_classifier
        if config.use_gumbel_for_cells or config.use_gumbel_for_aggregation:
            raise NotImplementedError("TFTapasForQuestionAnswering: the Gumbel-sampled TAPAS loss "
                                      "(use_gumbel_for_cells / use_gumbel_for_aggregation) is computed by the PyTorch "
                                      "class only.")  # fmt: skip

    def __call__(self, logits, col_logits, logits_aggregation, pooled, table, cell_mask, input_mask, table_mask,
                 labels, aggregation_labels, float_answer, numeric_values, numeric_values_scale):  # fmt: skip
        config = self.config
        supervised = config.supervised_aggregation
        aggregate_mask = None
        if not supervised:
            if float_answer is None:
                raise ValueError("You have to specify float answers in order to calculate the aggregate mask")
            aggregate_mask = self.aggregate_mask(tf.cast(float_answer, tf.float32), pooled, labels)
        if config.average_logits_per_cell:
            logits = table.gather(table.cell_mean(logits))
        if not config.select_one_column:
            labels_float = tf.cast(labels, tf.float32)
            weight = tf.where(labels_float == 0, 1.0, float(config.positive_label_weight))
            per_token = -bernoulli_log_prob(logits, labels_float) * weight
            selection = tf.reduce_sum(per_token * input_mask, 1) / (tf.reduce_sum(input_mask, 1) + EPSILON_ZERO_DIVISION)
        else:
            selection = single_column_loss(logits, col_logits, labels, table, cell_mask)
            logits = select_one_column(logits, col_logits, table, cell_mask)
        total = tf.zeros(())
        if config.disable_per_token_loss:
            pass
        elif supervised:
            total += tf.reduce_mean(selection)
        else:
            total += tf.reduce_mean(selection * (1.0 - aggregate_mask))
        if config.num_aggregation_labels > 0:
            if supervised and aggregation_labels is None:
                raise ValueError("You have to specify aggregation labels in order to calculate the aggregation loss")
            extra = self.aggregation_loss(logits_aggregation, aggregate_mask, aggregation_labels)
            if config.use_answer_as_supervision:
                if numeric_values is None or numeric_values_scale is None:
                    raise ValueError("You have to specify numeric values and numeric values scale in order to "
                                     "calculate the regression loss")  # fmt: skip
                answer_loss, keep = self.regression_loss(tf.cast(float_answer, tf.float32), aggregate_mask, logits,
                                                         tf.cast(numeric_values, tf.float32),
                                                         tf.cast(numeric_values_scale, tf.float32), table_mask,
                                                         logits_aggregation)  # fmt: skip
                extra = (extra + answer_loss) * keep
            total += tf.reduce_mean(extra)
        return total, logits

    def aggregate_mask(self, answer, pooled, labels):
        preference = self.config.cell_selection_preference
        if preference is None:
            raise ValueError("TapasConfig.cell_selection_preference must be set to train aggregation from answers "
                             "(use_answer_as_supervision=True).")  # fmt: skip
        probs = tf.nn.softmax(self.aggregation_classifier(pooled), axis=-1)
        pick_cells = (tf.reduce_sum(probs[:, 1:], 1) <= preference) & (tf.reduce_sum(labels, 1) > 0)
        numeric = tf.cast(~tf.math.is_nan(answer), tf.float32)
        return tf.stop_gradient(tf.where(pick_cells, tf.zeros_like(numeric), numeric))

    def aggregation_loss(self, logits_aggregation, aggregate_mask, aggregation_labels):
        config = self.config
        log_probs = tf.nn.log_softmax(logits_aggregation, axis=-1)
        if config.use_answer_as_supervision:
            target = tf.zeros(tf.shape(logits_aggregation)[:1], tf.int32)
        else:
            target = tf.cast(aggregation_labels, tf.int32)
        loss = -tf.gather(log_probs, target, batch_dims=1)
        if config.use_answer_as_supervision:
            loss = loss * (1 - aggregate_mask)
            mass = tf.reduce_sum(tf.nn.softmax(logits_aggregation, axis=-1)[:, 1:], 1)
            loss = loss - tf.math.log(mass) * aggregate_mask
        return config.aggregation_loss_weight * loss

    def expected_result(self, token_logits, numeric_values, numeric_values_scale, table_mask, logits_aggregation):
        config = self.config
        scaled = tf.sigmoid(token_logits) / numeric_values_scale * table_mask
        count = tf.reduce_sum(scaled, 1)
        values = tf.where(tf.math.is_nan(numeric_values), tf.zeros_like(numeric_values), numeric_values)
        total = tf.reduce_sum(scaled * values, 1)
        approximation = config.average_approximation_function
        if approximation == "ratio":
            average = total / (count + EPSILON_ZERO_DIVISION)
        else:
            others = tf.reduce_sum(scaled, 1, keepdims=True) - scaled + 1
            if approximation == "first_order":
                average = tf.reduce_sum(values * scaled / others, 1)
            else:
                variance = scaled * (1 - scaled)
                var = tf.reduce_sum(variance, 1, keepdims=True) - variance
                average = tf.reduce_sum(values * scaled * (var / tf.square(others) + 1) / others, 1)
        ops = tf.nn.softmax(logits_aggregation[:, 1:] / config.aggregation_temperature, axis=-1)
        if ops.shape[-1] != 3:
            raise ValueError("The regression loss weighs SUM, AVERAGE and COUNT, so it needs num_aggregation_labels=4 "
                             f"(NONE first); the config has {config.num_aggregation_labels}.")  # fmt: skip
        return tf.reduce_sum(tf.stack([total, average, count], 1) * ops, 1)

    def regression_loss(self, answer, aggregate_mask, token_logits, numeric_values, numeric_values_scale,
                        table_mask, logits_aggregation):  # fmt: skip
        config = self.config
        expected = self.expected_result(token_logits, numeric_values, numeric_values_scale, table_mask,
                                        logits_aggregation)  # fmt: skip
        answer = tf.where(tf.math.is_nan(answer), tf.zeros_like(answer), answer)
        if config.use_normalized_answer_loss:
            normalizer = tf.stop_gradient(tf.maximum(tf.abs(expected), tf.abs(answer)) + EPSILON_ZERO_DIVISION)
            loss = huber(expected / normalizer * aggregate_mask, answer / normalizer * aggregate_mask, 1.0)
        else:
            if config.huber_loss_delta is None:
                raise ValueError("TapasConfig.huber_loss_delta must be set for the regression loss (or set "
                                 "use_normalized_answer_loss=True).")  # fmt: skip
            loss = huber(expected * aggregate_mask, answer * aggregate_mask, config.huber_loss_delta)
        if config.answer_loss_cutoff is None:
            keep = tf.ones_like(loss)
        else:
            keep = 1.0 - tf.cast(loss > config.answer_loss_cutoff, tf.float32)
        return config.answer_loss_importance * (loss * aggregate_mask), keep


class TFTapasForQuestionAnswering(TFTaskModel, TFTapasPreTrainedModel):
    """Cell selection restricted to one column, and aggregation on the pooled output (see the PyTorch class), with
    transformers' training loss when labels are given (TapasLoss)."""

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
        config = self.config
        encoded = self.encode(input_ids, training, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              **kwargs)  # fmt: skip
        hidden = self.dropout(encoded.last_hidden_state, training=training)
        shape = tf.shape(hidden)
        token_type_ids = token_types_or_zeros(token_type_ids, shape)
        table = Table(token_type_ids, config)
        mask = tf.ones(shape[:2], tf.float32) if attention_mask is None else tf.cast(attention_mask, tf.float32)
        if table_mask is None:
            table_mask = tf.cast(token_type_ids[..., ROW_IDS] > 0, tf.float32)
        cell_mask = table.cell_mean(mask)
        logits = (tf.einsum("bsj,j->bs", hidden, self.output_weights) + self.output_bias) / config.temperature
        col_logits = None
        if config.select_one_column:
            col_logits = column_logits(hidden, self.column_output_weights, self.column_output_bias, table, cell_mask,
                                       config.allow_empty_column_selection)  # fmt: skip
        logits_aggregation = None
        if config.num_aggregation_labels > 0:
            logits_aggregation = self.aggregation_classifier(encoded.pooler_output)
        loss = None
        if labels is not None:
            classifier = getattr(self, "aggregation_classifier", None)
            loss, logits = TapasLoss(config, classifier)(
                logits, col_logits, logits_aggregation, encoded.pooler_output, table, cell_mask, mask,
                tf.cast(table_mask, tf.float32), labels, aggregation_labels, float_answer, numeric_values,
                numeric_values_scale)  # fmt: skip
        elif col_logits is not None:
            logits = select_one_column(logits, col_logits, table, cell_mask)
        # Without select_one_column (where transformers fails) the logits stay the per-token selection scores.
        result = out.from_encoded(self.output_class, encoded, loss=loss, logits=logits,
                                  logits_aggregation=logits_aggregation)  # fmt: skip
        return out.finish(result, return_dict)
