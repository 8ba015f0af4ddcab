"""TAPAS in PyTorch: BERT's encoder blocks under TAPAS's embeddings (seven token-type tables, positions that
restart in every table cell), BERT's masked-LM head, and the table question-answering head (cell selection
restricted to one column, aggregation over the pooled output) with its training loss."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.tapas import (
    CLOSE_ENOUGH_TO_LOG_ZERO,
    COLUMN_IDS,
    EPSILON_ZERO_DIVISION,
    ROW_IDS,
    TOKEN_TYPES,
    TapasConfig,
)

from ..blocks.encoder import Encoder, EncoderModel, Pooler
from ..heads import LanguageModelingModel, SequenceClassificationModel, TaskModel
from ..modeling import PreTrainedModel
from .bert import BertOnlyMLMHead


def token_types_or_zeros(token_type_ids, shape, device) -> torch.Tensor:
    if token_type_ids is None:
        return torch.zeros((*shape, len(TOKEN_TYPES)), dtype=torch.long, device=device)
    return token_type_ids


def positions_per_cell(token_type_ids: torch.Tensor, max_positions: int) -> torch.Tensor:
    """Each token's distance from the first token of its (column, row) cell, capped at max_positions - 1
    (config.reset_position_index_per_cell). The question and the padding share cell (0, 0)."""
    col, row = token_type_ids[..., COLUMN_IDS], token_type_ids[..., ROW_IDS]
    length = col.shape[1]
    position = torch.arange(length, device=col.device)
    same = (col[:, :, None] == col[:, None, :]) & (row[:, :, None] == row[:, None, :])
    first = torch.where(same, position, length).amin(-1)
    return torch.clamp(position[None] - first, max=max_positions - 1)


class TapasEmbeddings(nn.Module):
    def __init__(self, config: TapasConfig):
        super().__init__()
        self.config = config
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        for i, size in enumerate(config.type_vocab_sizes):
            setattr(self, f"token_type_embeddings_{i}", nn.Embedding(size, config.hidden_size))
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        token_type_ids = token_types_or_zeros(token_type_ids, embeds.shape[:2], embeds.device)
        if position_ids is None:
            if self.config.reset_position_index_per_cell:
                position_ids = positions_per_cell(token_type_ids, self.config.max_position_embeddings)
            else:
                self.config.encoder_options().check_length(embeds.shape[1])
                position_ids = torch.arange(embeds.shape[1], device=embeds.device)[None]
        embeds = embeds + self.position_embeddings(position_ids)
        for i in range(len(self.config.type_vocab_sizes)):
            embeds = embeds + getattr(self, f"token_type_embeddings_{i}")(token_type_ids[:, :, i])
        return self.dropout(self.LayerNorm(embeds))


class TapasPreTrainedModel(PreTrainedModel):
    config_class = TapasConfig
    base_model_prefix = "tapas"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"cls\.predictions\.decoder\.bias$"]


class TapasModel(EncoderModel, TapasPreTrainedModel):
    def __init__(self, config: TapasConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.options = config.encoder_options()
        self.embeddings = TapasEmbeddings(config)
        self.encoder = Encoder(self.options)
        self.pooler = Pooler(config.hidden_size) if add_pooling_layer else None


class TapasForMaskedLM(LanguageModelingModel, TapasPreTrainedModel):
    base_class = TapasModel
    _tied_weights_keys = ["cls.predictions.decoder.weight"]

    def build_lm_head(self, config):
        return BertOnlyMLMHead(config)

    def get_output_embeddings(self):
        return self.cls.predictions.decoder


class TapasForSequenceClassification(SequenceClassificationModel, TapasPreTrainedModel):
    base_class = TapasModel


# -- the table: tokens grouped into cells (row, column), cells into columns ---------------------------------
class Table:
    """The cells of a batch of flattened tables: `cell` [batch, seq] is each token's cell row * columns + column
    (rows and columns capped at config.max_num_rows / max_num_columns - 1); segment sums are one-hot products."""

    def __init__(self, token_type_ids: torch.Tensor, config: TapasConfig):
        self.rows, self.columns = config.max_num_rows, config.max_num_columns
        self.row = token_type_ids[..., ROW_IDS].clamp(max=self.rows - 1)
        self.column = token_type_ids[..., COLUMN_IDS].clamp(max=self.columns - 1)
        self.cell = self.row * self.columns + self.column
        self.one_hot = nn.functional.one_hot(self.cell, self.rows * self.columns).float()  # [batch, seq, cells]
        self.counts = self.one_hot.sum(1)
        cells = torch.arange(self.rows * self.columns, device=self.cell.device)
        self.column_of_cell = cells % self.columns  # [cells]
        self.cell_to_column = nn.functional.one_hot(self.column_of_cell, self.columns).float()  # [cells, columns]

    def cell_sum(self, values):
        return torch.einsum("bs,bsn->bn", values.float(), self.one_hot)

    def cell_mean(self, values):
        """Mean of the tokens of each cell; 0 for empty cells."""
        return self.cell_sum(values) / self.counts.clamp(min=1)

    def cell_max(self, values):
        """Max of non-negative token values per cell; 0 for empty cells."""
        return (values.float()[:, :, None] * self.one_hot).amax(1)

    def column_sum(self, cell_values):
        return cell_values @ self.cell_to_column

    def gather(self, cell_values):
        """Each token's value of its cell."""
        return cell_values.gather(1, self.cell)


def column_logits(hidden, weights, bias, table: Table, cell_mask, allow_empty: bool):
    """Per column: the mean over its cells of the mean token score, -10000 for columns with no cell (and for
    column 0, the question and headers, unless allow_empty_column_selection)."""
    cell_logits = table.cell_mean(torch.einsum("bsj,j->bs", hidden, weights) + bias)
    cell_count = table.column_sum(cell_mask)
    logits = table.column_sum(cell_logits * cell_mask) / (cell_count + EPSILON_ZERO_DIVISION)
    column = torch.arange(table.columns, device=hidden.device)
    logits = logits + CLOSE_ENOUGH_TO_LOG_ZERO * ((cell_count < 0.5) & (column != 0)).float()
    if not allow_empty:
        logits = logits + CLOSE_ENOUGH_TO_LOG_ZERO * (column == 0).float()
    return logits


def single_column_selection(token_logits, col_logits, labels, table: Table, cell_mask):
    """The hierarchical cell-selection loss per example (pick the labelled column, then its labelled cells) and
    the token logits restricted to the column the model picks (-10000 added elsewhere)."""
    labels_per_column = torch.einsum("bs,bsc->bc", labels.float(), nn.functional.one_hot(table.column, table.columns)
                                     .float())  # fmt: skip
    no_cell_selected = labels_per_column.amax(-1) == 0
    column_label = torch.where(no_cell_selected, 0, labels_per_column.argmax(-1))
    column_loss = -torch.log_softmax(col_logits, -1).gather(1, column_label[:, None])[:, 0]
    logits_per_cell = table.cell_mean(token_logits)
    labels_per_cell = table.cell_max(labels)
    column_mask = (table.column_of_cell[None] == column_label[:, None]).float()
    cell_log_prob = -nn.functional.binary_cross_entropy_with_logits(logits_per_cell, labels_per_cell, reduction="none")
    cell_loss = -(cell_log_prob * column_mask * cell_mask).sum(1) / ((column_mask * cell_mask).sum(1)
                                                                     + EPSILON_ZERO_DIVISION)  # fmt: skip
    loss = column_loss + torch.where(no_cell_selected, torch.zeros_like(cell_loss), cell_loss)
    selected = (table.column_of_cell[None] == col_logits.argmax(-1)[:, None]) & (table.column_of_cell[None] != 0)
    masked = logits_per_cell + CLOSE_ENOUGH_TO_LOG_ZERO * (1.0 - cell_mask * selected.float())
    return loss, table.gather(masked)


class TapasForQuestionAnswering(TaskModel, TapasPreTrainedModel):
    """Cell selection (`output_weights`/`output_bias` per token, `column_output_weights`/`column_output_bias` per
    column, restricted to one column) and aggregation (`aggregation_classifier` on the pooled output)."""

    base_class = TapasModel
    output_class = out.TableQuestionAnsweringOutput

    def __init__(self, config: TapasConfig):
        super().__init__(config)
        self.output_weights = nn.Parameter(torch.zeros(config.hidden_size))
        self.column_output_weights = nn.Parameter(torch.zeros(config.hidden_size))
        self.output_bias = nn.Parameter(torch.zeros([]))
        self.column_output_bias = nn.Parameter(torch.zeros([]))
        if config.num_aggregation_labels > 0:
            self.aggregation_classifier = nn.Linear(config.hidden_size, config.num_aggregation_labels)

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if module is self and not self.config.init_cell_selection_weights_to_zero:
            with torch.no_grad():
                for weights in (self.output_weights, self.column_output_weights):
                    if weights.device.type != "meta":
                        nn.init.normal_(weights, std=self.config.initializer_range)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, table_mask=None, labels=None,
                aggregation_labels=None, float_answer=None, numeric_values=None, numeric_values_scale=None,
                return_dict=None, **kwargs):  # fmt: skip
        config = self.config
        encoded = self.encode(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, **kwargs)
        hidden = self.dropout(encoded.last_hidden_state)
        token_type_ids = token_types_or_zeros(token_type_ids, hidden.shape[:2], hidden.device)
        table = Table(token_type_ids, config)
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], device=hidden.device)
        if table_mask is None:
            table_mask = (token_type_ids[..., ROW_IDS] > 0).long()
        cell_mask = table.cell_mean(attention_mask)
        logits = (torch.einsum("bsj,j->bs", hidden, self.output_weights) + self.output_bias) / config.temperature
        col_logits = None
        if config.select_one_column:
            col_logits = column_logits(hidden, self.column_output_weights, self.column_output_bias, table, cell_mask,
                                       config.allow_empty_column_selection)  # fmt: skip
        logits_aggregation = None
        if config.num_aggregation_labels > 0:
            logits_aggregation = self.aggregation_classifier(encoded.pooler_output)
        loss = None
        if labels is not None:
            loss, logits = self.table_loss(logits, col_logits, logits_aggregation, encoded.pooler_output, table,
                                           cell_mask, attention_mask.float(), table_mask.float(), labels,
                                           aggregation_labels, float_answer, numeric_values, numeric_values_scale)
        elif col_logits is not None:
            _, logits = single_column_selection(logits, col_logits, torch.zeros_like(logits), table, cell_mask)
        # Without select_one_column (where transformers fails) the logits stay the per-token selection scores.
        result = out.from_encoded(self.output_class, encoded, loss=loss, logits=logits,
                                  logits_aggregation=logits_aggregation)  # fmt: skip
        return self._finish(result, return_dict)

    def table_loss(self, logits, col_logits, logits_aggregation, pooled, table, cell_mask, input_mask, table_mask,
                   labels, aggregation_labels, float_answer, numeric_values, numeric_values_scale):  # fmt: skip
        """transformers' TAPAS loss: cell selection (per token, or one column's cells), aggregation (supervised by
        aggregation_labels, or by the answer) and the regression of the expected answer."""
        config = self.config
        supervised = config.supervised_aggregation
        aggregate_mask = None
        if not supervised:
            if float_answer is None:
                raise ValueError("You have to specify float answers in order to calculate the aggregate mask")
            aggregate_mask = self.aggregate_mask(float_answer, pooled, labels)
        if config.average_logits_per_cell:
            logits = table.gather(table.cell_mean(logits))
        if not config.select_one_column:
            weight = torch.where(labels == 0, 1.0, float(config.positive_label_weight))
            per_token = nn.functional.binary_cross_entropy_with_logits(logits, labels.float(), reduction="none") * weight
            selection = (per_token * input_mask).sum(1) / (input_mask.sum(1) + EPSILON_ZERO_DIVISION)
        else:
            selection, logits = single_column_selection(logits, col_logits, labels, table, cell_mask)
        total = torch.zeros((), device=logits.device)
        if config.disable_per_token_loss:
            pass
        elif supervised:
            total = total + selection.mean()
        else:
            total = total + (selection * (1.0 - aggregate_mask)).mean()
        if config.num_aggregation_labels > 0:
            if supervised and aggregation_labels is None:
                raise ValueError("You have to specify aggregation labels in order to calculate the aggregation loss")
            if not supervised:
                aggregation_labels = torch.zeros(labels.shape[0], dtype=torch.long, device=labels.device)
            extra = self.aggregation_loss(logits_aggregation, aggregate_mask, aggregation_labels)
            if config.use_answer_as_supervision:
                if numeric_values is None or numeric_values_scale is None:
                    raise ValueError("You have to specify numeric values and numeric values scale in order to "
                                     "calculate the regression loss")  # fmt: skip
                answer_loss, keep = self.regression_loss(float_answer, aggregate_mask, logits, numeric_values,
                                                         numeric_values_scale, table_mask, logits_aggregation)
                extra = (extra + answer_loss) * keep
            total = total + extra.mean()
        return total, logits

    def aggregate_mask(self, answer, pooled, labels):
        """1 for examples answered by aggregating: a numeric answer, unless the model prefers selecting cells and
        the labels select some."""
        preference = self.config.cell_selection_preference
        if preference is None:
            raise ValueError("TapasConfig.cell_selection_preference must be set to train aggregation from answers "
                             "(use_answer_as_supervision=True).")  # fmt: skip
        probs = self.aggregation_classifier(pooled).softmax(-1)
        pick_cells = (probs[:, 1:].sum(1) <= preference) & (labels.sum(1) > 0)
        numeric = (~torch.isnan(answer)).float()
        return torch.where(pick_cells, torch.zeros_like(numeric), numeric).detach()

    def aggregation_loss(self, logits_aggregation, aggregate_mask, aggregation_labels):
        config = self.config
        log_probs = logits_aggregation.log_softmax(-1)
        if config.use_answer_as_supervision:
            target = torch.zeros_like(aggregate_mask, dtype=torch.long)
        else:
            target = aggregation_labels
        loss = -log_probs.gather(1, target[:, None])[:, 0]
        if config.use_answer_as_supervision:
            loss = loss * (1 - aggregate_mask)
            loss = loss - torch.log(logits_aggregation.softmax(-1)[:, 1:].sum(1)) * aggregate_mask
        return config.aggregation_loss_weight * loss

    def expected_result(self, token_logits, numeric_values, numeric_values_scale, table_mask, logits_aggregation):
        config = self.config
        if config.use_gumbel_for_cells:
            relaxed = torch.distributions.RelaxedBernoulli(temperature=config.temperature,
                                                           logits=token_logits * config.temperature)  # fmt: skip
            probs = relaxed.sample()
        else:
            probs = torch.sigmoid(token_logits)
        scaled = probs / numeric_values_scale * table_mask
        count = scaled.sum(1)
        values = torch.where(torch.isnan(numeric_values), torch.zeros_like(numeric_values), numeric_values)
        total = (scaled * values).sum(1)
        approximation = config.average_approximation_function
        if approximation == "ratio":
            average = total / (count + EPSILON_ZERO_DIVISION)
        else:
            others = scaled.sum(1, keepdim=True) - scaled + 1
            if approximation == "first_order":
                average = (values * scaled / others).sum(1)
            else:
                variance = scaled * (1 - scaled)
                var = variance.sum(1, keepdim=True) - variance
                average = (values * scaled * (var / others.square() + 1) / others).sum(1)
        if config.use_gumbel_for_aggregation:
            ops = torch.distributions.RelaxedOneHotCategorical(config.aggregation_temperature,
                                                               logits=logits_aggregation[:, 1:]).sample()  # fmt: skip
        else:
            ops = (logits_aggregation[:, 1:] / config.aggregation_temperature).softmax(-1)
        if ops.shape[-1] != 3:
            raise ValueError("The regression loss weighs SUM, AVERAGE and COUNT, so it needs num_aggregation_labels=4 "
                             f"(NONE first); the config has {config.num_aggregation_labels}.")  # fmt: skip
        return (torch.stack([total, average, count], 1) * ops).sum(1)

    def regression_loss(self, answer, aggregate_mask, token_logits, numeric_values, numeric_values_scale,
                        table_mask, logits_aggregation):  # fmt: skip
        config = self.config
        expected = self.expected_result(token_logits, numeric_values, numeric_values_scale, table_mask,
                                        logits_aggregation)  # fmt: skip
        answer = torch.where(torch.isnan(answer), torch.zeros_like(answer), answer)
        if config.use_normalized_answer_loss:
            normalizer = (torch.maximum(expected.abs(), answer.abs()) + EPSILON_ZERO_DIVISION).detach()
            loss = huber(expected / normalizer * aggregate_mask, answer / normalizer * aggregate_mask, 1.0)
        else:
            if config.huber_loss_delta is None:
                raise ValueError("TapasConfig.huber_loss_delta must be set for the regression loss (or set "
                                 "use_normalized_answer_loss=True).")  # fmt: skip
            loss = huber(expected * aggregate_mask, answer * aggregate_mask, config.huber_loss_delta)
        if config.answer_loss_cutoff is None:
            keep = torch.ones_like(loss)
        else:
            keep = 1.0 - (loss > config.answer_loss_cutoff).float()
        return config.answer_loss_importance * (loss * aggregate_mask), keep


def huber(prediction, target, delta: float):
    errors = (prediction - target).abs()
    return torch.where(errors < delta, 0.5 * errors**2, errors * delta - 0.5 * delta**2)
