"""TAPAS: a BERT encoder over a question and a flattened table, with seven token-type tables (segment, column,
row, previous answer, column rank, inverse column rank, numeric relation) and a cell-selection / aggregation
head for table question answering."""

from __future__ import annotations

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions
from ..heads import HeadSpec
from .bert import check_heads

# The columns of token_type_ids [batch, seq, 7], in order.
TOKEN_TYPES = ("segment_ids", "column_ids", "row_ids", "prev_labels", "column_ranks", "inv_column_ranks",
               "numeric_relations")  # fmt: skip
COLUMN_IDS, ROW_IDS = TOKEN_TYPES.index("column_ids"), TOKEN_TYPES.index("row_ids")
# The constants of the cell-selection head: a logit this low means "never", and the guard of its divisions.
CLOSE_ENOUGH_TO_LOG_ZERO = -10000.0
EPSILON_ZERO_DIVISION = 1e-10
AVERAGE_APPROXIMATIONS = ("ratio", "first_order", "second_order")


class TapasConfig(PretrainedConfig):
    model_type = "tapas"

    def __init__(
        self,
        vocab_size=30522,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=1024,
        type_vocab_sizes=(3, 256, 256, 2, 256, 256, 10),
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        positive_label_weight=10.0,
        num_aggregation_labels=0,
        aggregation_loss_weight=1.0,
        use_answer_as_supervision=None,
        answer_loss_importance=1.0,
        use_normalized_answer_loss=False,
        huber_loss_delta=None,
        temperature=1.0,
        aggregation_temperature=1.0,
        use_gumbel_for_cells=False,
        use_gumbel_for_aggregation=False,
        average_approximation_function="ratio",
        cell_selection_preference=None,
        answer_loss_cutoff=None,
        max_num_rows=64,
        max_num_columns=32,
        average_logits_per_cell=False,
        select_one_column=True,
        allow_empty_column_selection=False,
        init_cell_selection_weights_to_zero=False,
        reset_position_index_per_cell=True,
        disable_per_token_loss=False,
        aggregation_labels=None,
        no_aggregation_label_index=None,
        **kwargs,
    ):
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.hidden_act = hidden_act
        self.intermediate_size = intermediate_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_sizes = list(type_vocab_sizes)
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.positive_label_weight = positive_label_weight
        self.num_aggregation_labels = num_aggregation_labels
        self.aggregation_loss_weight = aggregation_loss_weight
        self.use_answer_as_supervision = use_answer_as_supervision
        self.answer_loss_importance = answer_loss_importance
        self.use_normalized_answer_loss = use_normalized_answer_loss
        self.huber_loss_delta = huber_loss_delta
        self.temperature = temperature
        self.aggregation_temperature = aggregation_temperature
        self.use_gumbel_for_cells = use_gumbel_for_cells
        self.use_gumbel_for_aggregation = use_gumbel_for_aggregation
        self.average_approximation_function = average_approximation_function
        self.cell_selection_preference = cell_selection_preference
        self.answer_loss_cutoff = answer_loss_cutoff
        self.max_num_rows = max_num_rows
        self.max_num_columns = max_num_columns
        self.average_logits_per_cell = average_logits_per_cell
        self.select_one_column = select_one_column
        self.allow_empty_column_selection = allow_empty_column_selection
        self.init_cell_selection_weights_to_zero = init_cell_selection_weights_to_zero
        self.reset_position_index_per_cell = reset_position_index_per_cell
        self.disable_per_token_loss = disable_per_token_loss
        self.aggregation_labels = aggregation_labels
        self.no_aggregation_label_index = no_aggregation_label_index
        if isinstance(self.aggregation_labels, dict):
            self.aggregation_labels = {int(k): v for k, v in aggregation_labels.items()}
        check_heads(self)
        if len(self.type_vocab_sizes) != len(TOKEN_TYPES):
            raise ValueError(f"TapasConfig.type_vocab_sizes must list {len(TOKEN_TYPES)} sizes ({', '.join(TOKEN_TYPES)}); "
                             f"got {self.type_vocab_sizes}.")  # fmt: skip
        if average_approximation_function not in AVERAGE_APPROXIMATIONS:
            raise ValueError(f"TapasConfig.average_approximation_function={average_approximation_function!r}; use one "
                             f"of {', '.join(AVERAGE_APPROXIMATIONS)}.")  # fmt: skip

    @property
    def supervised_aggregation(self) -> bool:
        """Whether aggregation is learnt from aggregation_labels (strong supervision) rather than from the
        answer (use_answer_as_supervision with aggregation labels to predict)."""
        return not self.num_aggregation_labels > 0 or not self.use_answer_as_supervision

    def encoder_options(self) -> EncoderOptions:
        """BERT's encoder; the seven token-type tables and the per-cell positions are TAPAS's own embeddings."""
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act, layer_norm_eps=self.layer_norm_eps, hidden_dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, pad_token_id=self.pad_token_id, type_vocab_size=0,
            causal=bool(self.is_decoder), cross_attention=bool(self.add_cross_attention), owner="TapasConfig",
        )


CONFIG_CLASS = TapasConfig
ARCHITECTURES = {
    "MODEL": "TapasModel",
    "MODEL_FOR_PRETRAINING": "TapasForMaskedLM",
    "MODEL_FOR_MASKED_LM": "TapasForMaskedLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "TapasForSequenceClassification",
    "MODEL_FOR_TABLE_QUESTION_ANSWERING": "TapasForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {
    "TapasForMaskedLM": HeadSpec(pooling="none", attr="cls", dropout=(), base_kwargs={"add_pooling_layer": False}),
    "TapasForSequenceClassification": HeadSpec(),
    # The cell-selection weights (output_weights, column_output_weights, their biases) are the model's own; the
    # aggregation classifier reads the pooler output, and the hidden states are dropped out before selection.
    "TapasForQuestionAnswering": HeadSpec(attr="aggregation_classifier", dropout=("hidden_dropout_prob",)),
}
