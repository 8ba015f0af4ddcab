"""Task heads in PyTorch, written once: an architecture's head class names its base model class and
inherits one of these; `autoload/models/<model_type>.py` HEADS says how it pools and where its weights
live (see autoload.heads.HeadSpec).

    class BertForSequenceClassification(SequenceClassificationModel, BertPreTrainedModel):
        base_class = BertModel
"""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.heads import HeadSpec, check_eos_counts, head_spec, last_token_pad_id, positions_to_keep

from .activations import get_activation
from .losses import causal_lm_loss, sequence_classification_loss, span_loss, token_loss
from .modeling import PreTrainedModel

# Inputs that carry a choices axis in multiple-choice models ([batch, choices, ...]).
_PER_CHOICE = ("attention_mask", "token_type_ids", "position_ids", "inputs_embeds", "bbox")


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The mean over positions (axis 1) where `mask` is set; over all positions without a mask."""
    if mask is None:
        return hidden.mean(1)
    keep = mask[..., None].to(hidden.dtype)
    return (hidden * keep).sum(1) / keep.sum(1)


def kept_positions(hidden: torch.Tensor, logits_to_keep, labels=None) -> torch.Tensor:
    """The positions a causal LM scores (transformers' `logits_to_keep`): an int N keeps the last N (0: all), a
    1-D index tensor keeps those positions. Generation scores only the last one."""
    keep = positions_to_keep(logits_to_keep, labels)
    if keep is None:
        return hidden
    if isinstance(keep, int):
        return hidden[:, -keep:]
    return hidden[:, torch.as_tensor(keep, device=hidden.device)]


class ClassificationHead(nn.Module):
    """dropout -> dense -> activation -> dropout -> out_proj (RoBERTa, ELECTRA, BART-style heads)."""

    def __init__(self, hidden_size: int, out_features: int, activation: str, dropout: float, bias: bool = True):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.act = get_activation(activation)
        self.out_proj = nn.Linear(hidden_size, out_features, bias=bias)

    def forward(self, pooled):
        return self.out_proj(self.dropout(self.act(self.dense(self.dropout(pooled)))))


class TaskModel(PreTrainedModel):
    """A base model under its prefix plus one head, built from the architecture's HeadSpec."""

    base_class: type | None = None
    spec: HeadSpec | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "config_class", None) is None or cls.base_class is None:
            return
        try:
            cls.spec = head_spec(cls)
        except NotImplementedError:
            if cls.spec is None:  # neither declared nor inherited from a declared head
                raise
        if cls.spec.prefix:
            cls.base_model_prefix = cls.spec.prefix

    def __init__(self, config, **base_kwargs):
        super().__init__(config)
        setattr(self, self.base_model_prefix, self.base_class(config, **{**self.spec.base_kwargs, **base_kwargs}))
        self.dropout = nn.Dropout(self.spec.dropout_rate(config))

    def encode(self, inputs, **kwargs):
        return self.base_model(inputs, return_dict=True, **kwargs)

    def pool(self, encoded, input_ids=None, mask=None) -> torch.Tensor:
        kind = self.spec.pooling
        if kind == "pooler":
            return encoded.pooler_output
        hidden = encoded.last_hidden_state
        if kind == "first":
            return hidden[:, 0]
        if kind == "mean":
            return hidden.mean(1)
        if kind == "masked_mean":
            return masked_mean(hidden, mask)
        if kind == "eos":
            if input_ids is None:
                raise ValueError(f"{type(self).__name__} needs input_ids: it reads the end-of-sequence tokens.")
            eos = input_ids.eq(self.config.eos_token_id)
            check_eos_counts(eos.sum(1).tolist())
            return hidden[eos].view(hidden.shape[0], -1, hidden.shape[-1])[:, -1]
        if kind == "patch_mean":
            return hidden[:, 1:].mean(1)
        if kind == "first_and_patch_mean":
            return torch.cat([hidden[:, 0], hidden[:, 1:].mean(1)], dim=-1)
        if kind == "last":
            pad = last_token_pad_id(input_ids is not None, self.config.pad_token_id, hidden.shape[0])
            if pad is None:
                return hidden[:, -1]
            not_pad = (input_ids != pad).long()
            ends = (torch.arange(input_ids.shape[-1], device=hidden.device) * not_pad).argmax(-1)
            return hidden[torch.arange(hidden.shape[0], device=hidden.device), ends]
        return hidden

    def build_output_layer(self, out_features: int) -> nn.Module:
        if out_features == 0:
            return nn.Identity()
        hidden = self.spec.pooled_width(self.config)
        if self.spec.projection:
            rate = self.spec.dropout_rate(self.config)
            return ClassificationHead(hidden, out_features, self.spec.projection, rate, self.spec.bias)
        return nn.Linear(hidden, out_features, bias=self.spec.bias)

    def add_output_layer(self, out_features: int) -> None:
        setattr(self, self.spec.attr, self.build_output_layer(out_features))

    def output_layer(self, features: torch.Tensor) -> torch.Tensor:
        if not self.spec.projection:
            features = self.dropout(features)
        return getattr(self, self.spec.attr)(features)


class SequenceClassificationModel(TaskModel):
    output_class = out.SequenceClassifierOutput

    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        self.add_output_layer(config.num_labels)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        logits = self.output_layer(self.pool(encoded, input_ids, kwargs.get("attention_mask")))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return self._finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)


class TokenClassificationModel(TaskModel):
    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        self.add_output_layer(config.num_labels)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        logits = self.output_layer(encoded.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.TokenClassifierOutput, encoded, loss=loss, logits=logits), return_dict)


class QuestionAnsweringModel(TaskModel):
    """Start and end logits per position: num_labels outputs (2 by default) as encoders' checkpoints store
    them, or the spec's fixed out_features (2 for decoders)."""

    output_class = out.QuestionAnsweringModelOutput

    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        self.add_output_layer(self.spec.span_width(config))

    def forward(self, input_ids=None, start_positions=None, end_positions=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        start, end = self.output_layer(encoded.last_hidden_state).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = out.from_encoded(self.output_class, encoded, loss=loss, start_logits=start, end_logits=end)
        return self._finish(result, return_dict)


class MultipleChoiceModel(TaskModel):
    """Inputs [batch, choices, length] are scored as batch*choices sequences, one logit each."""

    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        self.add_output_layer(1)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        choices = (input_ids if input_ids is not None else kwargs["inputs_embeds"]).shape[1]
        flat = {k: (v.flatten(0, 1) if k in _PER_CHOICE and isinstance(v, torch.Tensor) else v)
                for k, v in kwargs.items()}  # fmt: skip
        ids = input_ids.flatten(0, 1) if input_ids is not None else None
        encoded = self.encode(ids, **flat)
        logits = self.output_layer(self.pool(encoded, ids, flat.get("attention_mask"))).view(-1, choices)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.MultipleChoiceModelOutput, encoded, loss=loss, logits=logits),
                            return_dict)  # fmt: skip


class ImageClassificationModel(TaskModel):
    main_input_name = "pixel_values"
    output_class = out.ImageClassifierOutput

    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        self.add_output_layer(config.num_labels)

    def forward(self, pixel_values=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(pixel_values, **kwargs)
        logits = self.output_layer(self.pool(encoded))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return self._finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)


class LanguageModelingModel(TaskModel):
    """Vocabulary scores at every position from the architecture's LM head (`build_lm_head`), stored under
    the spec's attribute (`cls`, `lm_head`, …). `causal` selects next-token loss and the output class."""

    causal = False
    output_class = out.MaskedLMOutput

    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        setattr(self, self.spec.attr, self.build_lm_head(config))

    def build_lm_head(self, config) -> nn.Module:
        return nn.Linear(config.hidden_size, config.vocab_size, bias=self.spec.bias)

    def lm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The scores from the last hidden states (an architecture with a stage before its LM head overrides it)."""
        return getattr(self, self.spec.attr)(hidden)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        logits = self.lm_logits(encoded.last_hidden_state)
        if self.causal:
            loss = causal_lm_loss(logits, labels) if labels is not None else None
        else:
            loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)
