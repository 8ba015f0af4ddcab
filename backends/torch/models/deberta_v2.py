"""DeBERTa-v2 in PyTorch: disentangled self-attention (content-to-position and position-to-content scores over
log-bucketed relative distances) on the shared post-norm blocks, DeBERTa's embeddings, the optional
convolution after the first layer, the context pooler and every head."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.deberta_v2 import DebertaV2Config, DisentangledOptions

from ..activations import get_activation
from ..blocks.encoder import EncoderModel, EncoderOutput, Intermediate, ResidualOutput, per_layer_head_mask
from ..heads import (
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TaskModel,
    TokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import PreTrainedModel


def log_bucket_positions(relative: torch.Tensor, bucket_size: int, max_position: int) -> torch.Tensor:
    """Distances within bucket_size // 2 stay exact; longer ones share logarithmically wider buckets."""
    sign = torch.sign(relative)
    mid = bucket_size // 2
    inside = (relative < mid) & (relative > -mid)
    absolute = torch.where(inside, torch.tensor(mid - 1).type_as(relative), relative.abs())
    log_pos = torch.ceil(torch.log(absolute / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(absolute <= mid, relative.type_as(log_pos), log_pos * sign).long()


def relative_positions(query_length: int, key_length: int, layout: DisentangledOptions, device=None) -> torch.Tensor:
    """[q, k] query position minus key position, log-bucketed when the config has position_buckets."""
    relative = torch.arange(query_length, device=device)[:, None] - torch.arange(key_length, device=device)[None]
    if layout.position_buckets > 0 and layout.max_relative_positions > 0:
        relative = log_bucket_positions(relative, layout.position_buckets, layout.max_relative_positions)
    return relative


class DisentangledSelfAttention(nn.Module):
    def __init__(self, options: EncoderOptions, layout: DisentangledOptions):
        super().__init__()
        h = options.hidden_size
        self.num_heads, self.head_size, self.layout = options.num_attention_heads, options.head_size, layout
        self.query_proj, self.key_proj, self.value_proj = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        if layout.relative and not layout.share_att_key:
            if "c2p" in layout.pos_att_type:
                self.pos_key_proj = nn.Linear(h, h)
            if "p2c" in layout.pos_att_type:
                self.pos_query_proj = nn.Linear(h, h)
        self.pos_dropout = nn.Dropout(options.hidden_dropout)
        self.dropout = nn.Dropout(options.attention_dropout)

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_size).transpose(1, 2)

    def forward(self, hidden, mask, output_attentions=False, head_mask=None, relative_pos=None, rel_embeddings=None):
        """mask: [batch, 1, q, k] booleans (True: attend)."""
        q, k, v = self._heads(self.query_proj(hidden)), self._heads(self.key_proj(hidden)), self._heads(self.value_proj(hidden))
        scale = math.sqrt(self.head_size * self.layout.scale_factor)
        scores = q @ (k.transpose(-1, -2) / scale)
        if self.layout.relative:
            scores = scores + self.position_scores(q, k, relative_pos, self.pos_dropout(rel_embeddings), scale)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        probs = self.dropout(scores.softmax(-1))
        if head_mask is not None:
            probs = probs * head_mask
        context = (probs @ v).transpose(1, 2).reshape(*hidden.shape[:2], -1)
        return context, (probs if output_attentions else None)

    def position_scores(self, q, k, relative_pos, rel_embeddings, scale: float):
        layout, span = self.layout, self.layout.span
        table = rel_embeddings[: span * 2][None]
        batch = q.shape[0]
        score = 0
        if "c2p" in layout.pos_att_type:
            pos_key = self._heads(self.key_proj(table) if layout.share_att_key else self.pos_key_proj(table))
            c2p = q @ pos_key.expand(batch, -1, -1, -1).transpose(-1, -2)
            index = torch.clamp(relative_pos + span, 0, span * 2 - 1)
            score = score + torch.gather(c2p, -1, index.expand(*c2p.shape[:2], *index.shape)) / scale
        if "p2c" in layout.pos_att_type:
            pos_query = self._heads(self.query_proj(table) if layout.share_att_key else self.pos_query_proj(table))
            p2c = k @ pos_query.expand(batch, -1, -1, -1).transpose(-1, -2)
            index = torch.clamp(-relative_pos + span, 0, span * 2 - 1)
            score = score + torch.gather(p2c, -1, index.expand(*p2c.shape[:2], *index.shape)).transpose(-1, -2) / scale
        return score


class DebertaV2Attention(nn.Module):
    def __init__(self, options: EncoderOptions, layout: DisentangledOptions):
        super().__init__()
        self.self = DisentangledSelfAttention(options, layout)
        self.output = ResidualOutput(options.hidden_size, options)

    def forward(self, hidden, mask, output_attentions=False, head_mask=None, **relative):
        context, probs = self.self(hidden, mask, output_attentions, head_mask, **relative)
        return self.output(context, hidden), probs


class DebertaV2Layer(nn.Module):
    def __init__(self, options: EncoderOptions, layout: DisentangledOptions):
        super().__init__()
        self.attention = DebertaV2Attention(options, layout)
        self.intermediate = Intermediate(options.hidden_size, options.intermediate_size, options.hidden_act)
        self.output = ResidualOutput(options.intermediate_size, options)

    def forward(self, hidden, mask, output_attentions=False, head_mask=None, **relative):
        attended, probs = self.attention(hidden, mask, output_attentions, head_mask, **relative)
        return self.output(self.intermediate(attended), attended), probs


class ConvLayer(nn.Module):
    """After the first layer: conv over the embeddings -> masked -> activation -> LayerNorm(+ layer output)."""

    def __init__(self, options: EncoderOptions, layout: DisentangledOptions):
        super().__init__()
        size = layout.conv_kernel_size
        self.conv = nn.Conv1d(options.hidden_size, options.hidden_size, size, padding=(size - 1) // 2,
                              groups=layout.conv_groups)  # fmt: skip
        self.LayerNorm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        self.dropout = nn.Dropout(options.hidden_dropout)
        self.act = get_activation(layout.conv_act)

    def forward(self, hidden, residual, input_mask):
        conv = self.conv(hidden.transpose(1, 2)).transpose(1, 2)
        conv = conv.masked_fill(~input_mask.bool()[..., None], 0)
        return self.LayerNorm(residual + self.act(self.dropout(conv))) * input_mask[..., None].to(conv.dtype)


class DebertaV2Encoder(nn.Module):
    def __init__(self, options: EncoderOptions, layout: DisentangledOptions):
        super().__init__()
        self.layout = layout
        self.layer = nn.ModuleList(DebertaV2Layer(options, layout) for _ in range(options.num_hidden_layers))
        if layout.relative:
            self.rel_embeddings = nn.Embedding(layout.span * 2, options.hidden_size)
        if layout.norm_rel_ebd:
            self.LayerNorm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        if layout.conv_kernel_size > 0:
            self.conv = ConvLayer(options, layout)

    def relative_table(self):
        table = self.rel_embeddings.weight if self.layout.relative else None
        return self.LayerNorm(table) if table is not None and self.layout.norm_rel_ebd else table

    def forward(self, hidden, input_mask, output_attentions=False, output_hidden_states=False, head_mask=None):
        mask = (input_mask[:, None, None, :] * input_mask[:, None, :, None]).bool()
        relative = {}
        if self.layout.relative:
            relative = {"relative_pos": relative_positions(hidden.shape[1], hidden.shape[1], self.layout, hidden.device),
                        "rel_embeddings": self.relative_table()}  # fmt: skip
        embedded, states, attentions = hidden, (hidden,), ()
        for i, (layer, layer_head_mask) in enumerate(zip(self.layer, per_layer_head_mask(head_mask, len(self.layer)))):
            hidden, probs = layer(hidden, mask, output_attentions, layer_head_mask, **relative)
            if i == 0 and hasattr(self, "conv"):
                hidden = self.conv(embedded, hidden, input_mask)
            states, attentions = states + (hidden,), attentions + (probs,)
        return EncoderOutput(hidden, states if output_hidden_states else None,
                             attentions if output_attentions else None, None)  # fmt: skip


class DebertaV2Embeddings(nn.Module):
    """word (+ absolute position when position_biased_input) (+ token type) -> embed_proj (when the width differs)
    -> LayerNorm -> zeroed at padding -> dropout."""

    def __init__(self, config: DebertaV2Config, options: EncoderOptions):
        super().__init__()
        width = options.embedding_width
        self.options = options
        self.word_embeddings = nn.Embedding(options.vocab_size, width, padding_idx=options.pad_token_id)
        if config.position_biased_input:
            self.position_embeddings = nn.Embedding(options.max_position_embeddings, width)
        if options.type_vocab_size > 0:
            self.token_type_embeddings = nn.Embedding(options.type_vocab_size, width)
        if width != options.hidden_size:
            self.embed_proj = nn.Linear(width, options.hidden_size, bias=False)
        self.LayerNorm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        self.dropout = nn.Dropout(options.hidden_dropout)

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, mask=None, inputs_embeds=None):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        if hasattr(self, "position_embeddings"):
            self.options.check_length(embeds.shape[1])
            if position_ids is None:
                position_ids = torch.arange(embeds.shape[1], device=embeds.device)[None]
            embeds = embeds + self.position_embeddings(position_ids)
        if hasattr(self, "token_type_embeddings"):
            if token_type_ids is None:
                token_type_ids = torch.zeros(embeds.shape[:2], dtype=torch.long, device=embeds.device)
            embeds = embeds + self.token_type_embeddings(token_type_ids)
        if hasattr(self, "embed_proj"):
            embeds = self.embed_proj(embeds)
        embeds = self.LayerNorm(embeds) * mask[..., None].to(embeds.dtype)
        return self.dropout(embeds)


class DebertaV2PreTrainedModel(PreTrainedModel):
    config_class = DebertaV2Config
    base_model_prefix = "deberta"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"position_embeddings", r"mask_predictions\.",
                                          r"cls\.predictions\.decoder\.bias$"]  # fmt: skip


class DebertaV2Model(EncoderModel, DebertaV2PreTrainedModel):
    output_class = out.BaseModelOutput

    def __init__(self, config: DebertaV2Config):
        super().__init__(config)
        self.options = config.encoder_options()
        self.embeddings = DebertaV2Embeddings(config, self.options)
        self.encoder = DebertaV2Encoder(self.options, config.disentangled())

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, head_mask=None, **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        reference = input_ids if input_ids is not None else inputs_embeds[..., 0]
        if attention_mask is None:
            attention_mask = torch.ones(reference.shape, dtype=torch.long, device=reference.device)
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, attention_mask, inputs_embeds)
        encoded = self.encoder(hidden, attention_mask, self._flag(output_attentions, "output_attentions"),
                               self._flag(output_hidden_states, "output_hidden_states"), head_mask)  # fmt: skip
        return self._finish(self.build_output(encoded), return_dict)


class LegacyPredictionHead(nn.Module):
    """cls.predictions: transform (dense to the embedding width, hidden_act, LayerNorm), decoder (tied) + bias."""

    def __init__(self, config: DebertaV2Config):
        super().__init__()
        self.transform = nn.Module()
        self.transform.dense = nn.Linear(config.hidden_size, config.embedding_width)
        self.transform.LayerNorm = nn.LayerNorm(config.embedding_width, eps=config.layer_norm_eps)
        self.act = get_activation(config.hidden_act)
        self.decoder = nn.Linear(config.embedding_width, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden):
        hidden = self.transform.LayerNorm(self.act(self.transform.dense(hidden)))
        return self.decoder(hidden) + self.bias


class LMPredictionHead(nn.Module):
    """lm_predictions.lm_head (legacy=False): dense, hidden_act, LayerNorm, then the word embeddings + bias."""

    def __init__(self, config: DebertaV2Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden, word_embeddings):
        return self.LayerNorm(self.act(self.dense(hidden))) @ word_embeddings.t() + self.bias


class DebertaV2ForMaskedLM(TaskModel, DebertaV2PreTrainedModel):
    base_class = DebertaV2Model

    def __init__(self, config: DebertaV2Config):
        super().__init__(config)
        if config.legacy:
            self.cls = nn.Module()
            self.cls.predictions = LegacyPredictionHead(config)
            self._tied_weights_keys = ["cls.predictions.decoder.weight"]
        else:
            self.lm_predictions = nn.Module()
            self.lm_predictions.lm_head = LMPredictionHead(config)

    def get_output_embeddings(self):
        return self.cls.predictions.decoder if self.config.legacy else None

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        if self.config.legacy:
            logits = self.cls.predictions(encoded.last_hidden_state)
        else:
            word_embeddings = self.deberta.embeddings.word_embeddings.weight
            logits = self.lm_predictions.lm_head(encoded.last_hidden_state, word_embeddings)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.MaskedLMOutput, encoded, loss=loss, logits=logits), return_dict)


class ContextPooler:
    """The first token -> dropout (pooler_dropout) -> pooler.dense -> pooler_hidden_act, before the head's
    dropout and classifier."""

    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        self.pooler = nn.Module()
        self.pooler.dense = nn.Linear(config.pooler_hidden_size, config.pooler_hidden_size)
        self.pooler.dropout = nn.Dropout(config.pooler_dropout)
        self.pooler_act = get_activation(config.pooler_hidden_act)

    def pool(self, encoded, *args, **kwargs):
        return self.pooler_act(self.pooler.dense(self.pooler.dropout(super().pool(encoded, *args, **kwargs))))


class DebertaV2ForSequenceClassification(ContextPooler, SequenceClassificationModel, DebertaV2PreTrainedModel):
    base_class = DebertaV2Model


class DebertaV2ForMultipleChoice(ContextPooler, MultipleChoiceModel, DebertaV2PreTrainedModel):
    base_class = DebertaV2Model


class DebertaV2ForTokenClassification(TokenClassificationModel, DebertaV2PreTrainedModel):
    base_class = DebertaV2Model


class DebertaV2ForQuestionAnswering(QuestionAnsweringModel, DebertaV2PreTrainedModel):
    base_class = DebertaV2Model
