"""Wav2Vec2 in PyTorch: a strided conv feature encoder over raw audio, a grouped positional conv with weight
norm, a transformer encoder (post-norm, or pre-norm when do_stable_layer_norm) and the audio heads."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.wav2vec2 import Wav2Vec2Config

from ..activations import get_activation
from ..attention import MultiHeadAttention, padding_mask
from ..losses import sequence_classification_loss
from ..modeling import PreTrainedModel


def frame_mask(num_frames: int, attention_mask: torch.Tensor, config: Wav2Vec2Config) -> torch.Tensor:
    """Sample-level attention mask -> [batch, frames] bool mask of the frames that cover real audio."""
    lengths = config.conv_output_lengths(attention_mask.sum(-1)).to(torch.long)
    return torch.arange(num_frames, device=attention_mask.device)[None, :] < lengths[:, None]


class Wav2Vec2ConvLayer(nn.Module):
    """One feature-encoder conv; `norm` is "group" (first layer of the group variant), "layer" or None."""

    def __init__(self, config: Wav2Vec2Config, index: int, norm: str | None):
        super().__init__()
        in_dim = config.conv_dim[index - 1] if index > 0 else 1
        out_dim = config.conv_dim[index]
        self.conv = nn.Conv1d(in_dim, out_dim, config.conv_kernel[index], config.conv_stride[index], bias=config.conv_bias)
        if norm == "group":
            self.layer_norm = nn.GroupNorm(out_dim, out_dim, affine=True)
        elif norm == "layer":
            self.layer_norm = nn.LayerNorm(out_dim, elementwise_affine=True)
        self.norm = norm
        self.activation = get_activation(config.feat_extract_activation)

    def forward(self, x):
        x = self.conv(x)
        if self.norm == "group":
            x = self.layer_norm(x)
        elif self.norm == "layer":
            x = self.layer_norm(x.transpose(-2, -1)).transpose(-2, -1)
        return self.activation(x)


class Wav2Vec2FeatureEncoder(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        if config.feat_extract_norm == "group":
            norms = ["group"] + [None] * (config.num_feat_extract_layers - 1)
        else:
            norms = ["layer"] * config.num_feat_extract_layers
        self.conv_layers = nn.ModuleList(Wav2Vec2ConvLayer(config, i, norm) for i, norm in enumerate(norms))

    def forward(self, input_values):
        hidden = input_values[:, None]
        for layer in self.conv_layers:
            hidden = layer(hidden)
        return hidden


class Wav2Vec2FeatureProjection(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.layer_norm = nn.LayerNorm(config.conv_dim[-1], eps=config.layer_norm_eps)
        self.projection = nn.Linear(config.conv_dim[-1], config.hidden_size)
        self.dropout = nn.Dropout(config.feat_proj_dropout)

    def forward(self, features):
        normed = self.layer_norm(features)
        return self.dropout(self.projection(normed)), normed


class Wav2Vec2PositionalConvEmbedding(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        size = config.num_conv_pos_embeddings
        conv = nn.Conv1d(config.hidden_size, config.hidden_size, size, padding=size // 2,
                         groups=config.num_conv_pos_embedding_groups)  # fmt: skip
        self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.trim = 1 if size % 2 == 0 else 0  # an even kernel with padding k//2 yields one frame too many
        self.activation = get_activation(config.feat_extract_activation)

    def forward(self, hidden):
        x = self.conv(hidden.transpose(1, 2))
        if self.trim:
            x = x[:, :, : -self.trim]
        return self.activation(x).transpose(1, 2)


class Wav2Vec2FeedForward(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.intermediate_dropout = nn.Dropout(config.activation_dropout)
        self.intermediate_dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = get_activation(config.hidden_act)
        self.output_dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.output_dropout = nn.Dropout(config.hidden_dropout)

    def forward(self, hidden):
        hidden = self.intermediate_dropout(self.act(self.intermediate_dense(hidden)))
        return self.output_dropout(self.output_dense(hidden))


class Wav2Vec2EncoderLayer(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.attention = MultiHeadAttention(config.hidden_size, config.num_attention_heads, config.attention_dropout)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.feed_forward = Wav2Vec2FeedForward(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pre_norm = config.do_stable_layer_norm

    def forward(self, hidden, mask):
        if self.pre_norm:
            attended, _ = self.attention(self.layer_norm(hidden), mask)
            hidden = hidden + self.dropout(attended)
            return hidden + self.feed_forward(self.final_layer_norm(hidden))
        attended, _ = self.attention(hidden, mask)
        hidden = self.layer_norm(hidden + self.dropout(attended))
        return self.final_layer_norm(hidden + self.feed_forward(hidden))


class Wav2Vec2Encoder(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.pos_conv_embed = Wav2Vec2PositionalConvEmbedding(config)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layers = nn.ModuleList(Wav2Vec2EncoderLayer(config) for _ in range(config.num_hidden_layers))
        self.pre_norm = config.do_stable_layer_norm

    def forward(self, hidden, frames=None):
        mask = None
        if frames is not None:
            hidden = hidden.masked_fill(~frames[..., None], 0.0)
            mask = padding_mask(frames, hidden.dtype)
        hidden = hidden + self.pos_conv_embed(hidden)
        if not self.pre_norm:
            hidden = self.layer_norm(hidden)
        hidden = self.dropout(hidden)
        states = ()
        for layer in self.layers:
            states += (hidden,)
            hidden = layer(hidden, mask)
        if self.pre_norm:
            hidden = self.layer_norm(hidden)
        return hidden, states + (hidden,)


class Wav2Vec2PreTrainedModel(PreTrainedModel):
    config_class = Wav2Vec2Config
    base_model_prefix = "wav2vec2"
    main_input_name = "input_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv1d):
            nn.init.kaiming_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, Wav2Vec2Model) and module.masked_spec_embed is not None:
            nn.init.uniform_(module.masked_spec_embed)
        elif isinstance(module, Wav2Vec2GumbelVectorQuantizer):
            nn.init.uniform_(module.codevectors)

    def _encode(self, input_values, attention_mask, output_hidden_states, mask_time_indices=None):
        return self.wav2vec2(input_values, attention_mask, mask_time_indices=mask_time_indices,
                             output_hidden_states=output_hidden_states, return_dict=True)  # fmt: skip

    def _layer_output(self, encoded):
        """The last hidden state, or the learned softmax-weighted sum of all of them."""
        if not self.config.use_weighted_layer_sum:
            return encoded.last_hidden_state
        weights = nn.functional.softmax(self.layer_weights, dim=-1)
        return (torch.stack(encoded.hidden_states, dim=1) * weights[None, :, None, None]).sum(dim=1)

    def _add_layer_weights(self):
        if self.config.use_weighted_layer_sum:
            layers = self.config.num_hidden_layers + 1
            self.layer_weights = nn.Parameter(torch.ones(layers) / layers)


class Wav2Vec2Model(Wav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        if config.add_adapter:
            raise NotImplementedError("Wav2Vec2 with add_adapter=True is not supported by autoload yet.")
        self.feature_extractor = Wav2Vec2FeatureEncoder(config)
        self.feature_projection = Wav2Vec2FeatureProjection(config)
        has_mask = config.mask_time_prob > 0.0 or config.mask_feature_prob > 0.0
        self.masked_spec_embed = nn.Parameter(torch.zeros(config.hidden_size)) if has_mask else None
        self.encoder = Wav2Vec2Encoder(config)

    def forward(self, input_values=None, attention_mask=None, mask_time_indices=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        if input_values is None or input_values.ndim != 2:
            shape = None if input_values is None else tuple(input_values.shape)
            raise ValueError(
                f"input_values must be mono audio of shape [batch, samples]; got {shape}. Average or pick a "
                "channel of stereo audio first (the feature extractor does this)."
            )
        features = self.feature_extractor(input_values.to(self.feature_projection.projection.weight.dtype))
        features = features.transpose(1, 2)
        frames = frame_mask(features.shape[1], attention_mask, self.config) if attention_mask is not None else None
        hidden, extract_features = self.feature_projection(features)
        if mask_time_indices is not None and self.masked_spec_embed is not None:
            hidden = torch.where(mask_time_indices[..., None].bool(), self.masked_spec_embed.to(hidden.dtype), hidden)
        hidden, states = self.encoder(hidden, frames)
        keep = self._flag(output_hidden_states, "output_hidden_states")
        result = out.Wav2Vec2BaseModelOutput(
            last_hidden_state=hidden, extract_features=extract_features, hidden_states=states if keep else None
        )
        return self._finish(result, return_dict)


class Wav2Vec2ForCTC(Wav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        self.wav2vec2 = Wav2Vec2Model(config)
        self.dropout = nn.Dropout(config.final_dropout)
        self.lm_head = nn.Linear(config.output_hidden_size, config.vocab_size)

    def forward(self, input_values=None, attention_mask=None, labels=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        encoded = self._encode(input_values, attention_mask, output_hidden_states)
        logits = self.lm_head(self.dropout(encoded.last_hidden_state))
        loss = None
        if labels is not None:
            if labels.max() >= self.config.vocab_size:
                raise ValueError(f"Label values must be < vocab_size ({self.config.vocab_size}).")
            mask = attention_mask if attention_mask is not None else torch.ones_like(input_values, dtype=torch.long)
            input_lengths = self.config.conv_output_lengths(mask.sum(-1)).to(torch.long)
            targets = labels >= 0
            log_probs = nn.functional.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
            loss = nn.functional.ctc_loss(
                log_probs, labels.masked_select(targets), input_lengths, targets.sum(-1),
                blank=self.config.pad_token_id, reduction=self.config.ctc_loss_reduction,
                zero_infinity=self.config.ctc_zero_infinity,
            )  # fmt: skip
        result = out.CausalLMOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        return self._finish(result, return_dict)


class Wav2Vec2ForMaskedLM(Wav2Vec2ForCTC):
    """The deprecated name of a CTC head without the CTC loss; kept so its checkpoints load."""

    def forward(self, input_values=None, attention_mask=None, output_hidden_states=None, return_dict=None, **kwargs):
        # Like the original deprecated class, this head ignores attention_mask.
        encoded = self._encode(input_values, None, output_hidden_states)
        logits = self.lm_head(self.dropout(encoded.last_hidden_state))
        result = out.MaskedLMOutput(logits=logits, hidden_states=encoded.hidden_states)
        return self._finish(result, return_dict)


class Wav2Vec2ForSequenceClassification(Wav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        self.wav2vec2 = Wav2Vec2Model(config)
        self._add_layer_weights()
        self.projector = nn.Linear(config.hidden_size, config.classifier_proj_size)
        self.classifier = nn.Linear(config.classifier_proj_size, config.num_labels)

    def forward(self, input_values=None, attention_mask=None, labels=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        encoded = self._encode(input_values, attention_mask, keep or self.config.use_weighted_layer_sum)
        hidden = self.projector(self._layer_output(encoded))
        if attention_mask is None:
            pooled = hidden.mean(dim=1)
        else:
            frames = frame_mask(hidden.shape[1], attention_mask, self.config)
            pooled = hidden.masked_fill(~frames[..., None], 0.0).sum(1) / frames.sum(1, keepdim=True)
        logits = self.classifier(pooled)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = out.SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states if keep else None)
        return self._finish(result, return_dict)


class Wav2Vec2ForAudioFrameClassification(Wav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        self.wav2vec2 = Wav2Vec2Model(config)
        self._add_layer_weights()
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_values=None, attention_mask=None, labels=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        encoded = self._encode(input_values, attention_mask, keep or self.config.use_weighted_layer_sum)
        logits = self.classifier(self._layer_output(encoded))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.argmax(-1).reshape(-1))
        result = out.TokenClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states if keep else None)
        return self._finish(result, return_dict)


class TDNNLayer(nn.Module):
    """A dilated 1-D conv stored as a Linear over the unfolded kernel (the checkpoints' `kernel` layout)."""

    def __init__(self, config: Wav2Vec2Config, index: int):
        super().__init__()
        self.in_dim = config.tdnn_dim[index - 1] if index > 0 else config.tdnn_dim[0]
        self.out_dim = config.tdnn_dim[index]
        self.kernel_size = config.tdnn_kernel[index]
        self.dilation = config.tdnn_dilation[index]
        self.kernel = nn.Linear(self.in_dim * self.kernel_size, self.out_dim)

    def forward(self, hidden):
        weight = self.kernel.weight.view(self.out_dim, self.kernel_size, self.in_dim).transpose(1, 2)
        hidden = nn.functional.conv1d(hidden.transpose(1, 2), weight, self.kernel.bias, dilation=self.dilation)
        return nn.functional.relu(hidden.transpose(1, 2))


class AMSoftmaxLoss(nn.Module):
    def __init__(self, input_dim: int, num_labels: int, scale: float = 30.0, margin: float = 0.4):
        super().__init__()
        self.scale, self.margin = scale, margin
        self.weight = nn.Parameter(torch.randn(input_dim, num_labels))

    def forward(self, hidden, labels):
        cos = nn.functional.normalize(hidden, dim=1) @ nn.functional.normalize(self.weight, dim=0)
        onehot = nn.functional.one_hot(labels.flatten(), cos.shape[-1]).bool()
        logits = self.scale * torch.where(onehot, cos - self.margin, cos)
        return nn.functional.cross_entropy(logits, labels.flatten())


class Wav2Vec2ForXVector(Wav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        self.wav2vec2 = Wav2Vec2Model(config)
        self._add_layer_weights()
        self.projector = nn.Linear(config.hidden_size, config.tdnn_dim[0])
        self.tdnn = nn.ModuleList(TDNNLayer(config, i) for i in range(len(config.tdnn_dim)))
        self.feature_extractor = nn.Linear(config.tdnn_dim[-1] * 2, config.xvector_output_dim)
        self.classifier = nn.Linear(config.xvector_output_dim, config.xvector_output_dim)
        self.objective = AMSoftmaxLoss(config.xvector_output_dim, config.num_labels)

    def forward(self, input_values=None, attention_mask=None, labels=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        encoded = self._encode(input_values, attention_mask, keep or self.config.use_weighted_layer_sum)
        hidden = self.projector(self._layer_output(encoded))
        for layer in self.tdnn:
            hidden = layer(hidden)
        if attention_mask is None:
            stats = torch.cat([hidden.mean(dim=1), hidden.std(dim=1)], dim=-1)
        else:
            lengths = self.config.conv_output_lengths(attention_mask.sum(-1))
            for kernel in self.config.tdnn_kernel:  # each TDNN layer is a valid conv with stride 1
                lengths = lengths - kernel + 1
            stats = torch.stack(
                [torch.cat([h[:n].mean(0), h[:n].std(0)]) for h, n in zip(hidden, lengths.tolist())]
            )
        embeddings = self.feature_extractor(stats)
        logits = self.classifier(embeddings)
        loss = self.objective(logits, labels) if labels is not None else None
        result = out.XVectorOutput(loss=loss, logits=logits, embeddings=embeddings,
                                   hidden_states=encoded.hidden_states if keep else None)  # fmt: skip
        return self._finish(result, return_dict)


class Wav2Vec2GumbelVectorQuantizer(nn.Module):
    """Product quantisation of the conv features; in eval the hard argmax code of each group is used."""

    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.num_groups = config.num_codevector_groups
        self.num_vars = config.num_codevectors_per_group
        if config.codevector_dim % self.num_groups:
            raise ValueError(f"codevector_dim {config.codevector_dim} must be divisible by {self.num_groups} groups.")
        self.codevectors = nn.Parameter(
            torch.zeros(1, self.num_groups * self.num_vars, config.codevector_dim // self.num_groups)
        )
        self.weight_proj = nn.Linear(config.conv_dim[-1], self.num_groups * self.num_vars)
        self.temperature = 2.0

    @staticmethod
    def perplexity(probs: torch.Tensor, mask=None) -> torch.Tensor:
        if mask is not None:
            probs = torch.where(mask.flatten()[:, None, None].expand(probs.shape), probs, torch.zeros_like(probs))
            marginal = probs.sum(dim=0) / mask.sum()
        else:
            marginal = probs.mean(dim=0)
        return torch.exp(-torch.sum(marginal * torch.log(marginal + 1e-7), dim=-1)).sum()

    def forward(self, hidden, mask_time_indices=None):
        batch, length, _ = hidden.shape
        logits = self.weight_proj(hidden).view(batch * length * self.num_groups, -1)
        if self.training:
            probs = nn.functional.gumbel_softmax(logits.float(), tau=self.temperature, hard=True).type_as(logits)
            soft = logits.view(batch * length, self.num_groups, -1).float().softmax(dim=-1)
            perplexity = self.perplexity(soft, mask_time_indices)
        else:
            probs = nn.functional.one_hot(logits.argmax(dim=-1), logits.shape[-1]).to(logits.dtype)
            perplexity = self.perplexity(probs.view(batch * length, self.num_groups, -1), mask_time_indices)
        codes = probs.view(batch * length, -1).unsqueeze(-1) * self.codevectors
        codes = codes.view(batch * length, self.num_groups, self.num_vars, -1).sum(-2).view(batch, length, -1)
        return codes, perplexity


class Wav2Vec2ForPreTraining(Wav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        self.wav2vec2 = Wav2Vec2Model(config)
        self.dropout_features = nn.Dropout(config.feat_quantizer_dropout)
        self.quantizer = Wav2Vec2GumbelVectorQuantizer(config)
        self.project_hid = nn.Linear(config.hidden_size, config.proj_codevector_dim)
        self.project_q = nn.Linear(config.codevector_dim, config.proj_codevector_dim)

    def forward(self, input_values=None, attention_mask=None, mask_time_indices=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        if mask_time_indices is not None:
            mask_time_indices = mask_time_indices.to(torch.bool)
        encoded = self._encode(input_values, attention_mask, output_hidden_states, mask_time_indices)
        projected = self.project_hid(encoded.last_hidden_state)
        quantized, perplexity = self.quantizer(self.dropout_features(encoded.extract_features), mask_time_indices)
        result = out.Wav2Vec2ForPreTrainingOutput(
            projected_states=projected, projected_quantized_states=self.project_q(quantized),
            codevector_perplexity=perplexity, hidden_states=encoded.hidden_states,
        )  # fmt: skip
        return self._finish(result, return_dict)
