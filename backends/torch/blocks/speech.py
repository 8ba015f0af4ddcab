"""Speech-encoder building blocks in PyTorch (Wav2Vec2, HuBERT, WavLM), built from autoload.speech.SpeechOptions;
attribute names are the checkpoint names.

- The feature encoder: strided convolutions over raw audio, GroupNorm on the first ("group") or LayerNorm on
  every one ("layer"); the feature projection (optional LayerNorm, Linear).
- The positional convolution: grouped, weight-normed over the kernel axis (or HuBERT's BatchNorm variant).
- The transformer: post-norm or stable (pre-norm) layers, plain self-attention or WavLM's gated relative
  position bias, optional attention adapters; the adapter after it (add_adapter).
- The base model and the audio heads on the generic TaskModel: CTC, utterance classification (projector,
  mean over the frames the attention mask keeps), frame classification, x-vector (TDNN layers, statistics
  pooling, AM-softmax loss). A learned softmax-weighted sum of all hidden states feeds the classification
  heads when config.use_weighted_layer_sum.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import nn

from autoload import outputs as out
from autoload.speech import (
    ConvLayerOptions,
    SpeechOptions,
    check_audio,
    effective_frame_lengths,
    refuse_adapter,
    sliced_length,
    training_masks,
)

from ..activations import get_activation
from ..heads import TaskModel
from ..modeling import PreTrainedModel
from .attention import eager_attention


def frame_lengths(config, attention_mask: torch.Tensor, add_adapter: bool | None = None) -> torch.Tensor:
    """Sample-level attention mask -> frames of real audio per example (the adapter's too, by default when the
    config has one)."""
    return config.conv_output_lengths(attention_mask.sum(-1), add_adapter).to(torch.long)


def frame_mask(config, attention_mask: torch.Tensor, frames: int, add_adapter: bool | None = None) -> torch.Tensor:
    """[batch, frames] bool mask of the frames covering real audio, as transformers derives it."""
    lengths = effective_frame_lengths(frame_lengths(config, attention_mask, add_adapter), frames)
    return torch.arange(frames, device=attention_mask.device)[None, :] < lengths[:, None]


class SpeechConvLayer(nn.Module):
    def __init__(self, layer: ConvLayerOptions, options: SpeechOptions):
        super().__init__()
        self.conv = nn.Conv1d(layer.in_dim, layer.out_dim, layer.kernel, layer.stride, bias=options.conv_bias)
        if layer.norm == "group":
            self.layer_norm = nn.GroupNorm(layer.out_dim, layer.out_dim, affine=True)
        elif layer.norm == "layer":
            self.layer_norm = nn.LayerNorm(layer.out_dim, elementwise_affine=True)
        self.norm = layer.norm
        self.activation = get_activation(options.conv_activation)

    def forward(self, x):
        x = self.conv(x)
        if self.norm == "group":
            x = self.layer_norm(x)
        elif self.norm == "layer":
            x = self.layer_norm(x.transpose(-2, -1)).transpose(-2, -1)
        return self.activation(x)


class SpeechFeatureEncoder(nn.Module):
    def __init__(self, options: SpeechOptions):
        super().__init__()
        self.conv_layers = nn.ModuleList(SpeechConvLayer(layer, options) for layer in options.conv_layers)

    def forward(self, input_values):
        hidden = input_values[:, None]
        for layer in self.conv_layers:
            hidden = layer(hidden)
        return hidden


class SpeechFeatureProjection(nn.Module):
    """Returns (projected features, the features the projection read: normed when there is a LayerNorm)."""

    def __init__(self, options: SpeechOptions):
        super().__init__()
        width = options.conv_layers[-1].out_dim
        if options.feature_layer_norm:
            self.layer_norm = nn.LayerNorm(width, eps=options.layer_norm_eps)
        self.projection = nn.Linear(width, options.hidden_size)
        self.dropout = nn.Dropout(options.feat_proj_dropout)

    def forward(self, features):
        if hasattr(self, "layer_norm"):
            features = self.layer_norm(features)
        return self.dropout(self.projection(features)), features


class SpeechPositionalConvEmbedding(nn.Module):
    """A grouped conv over time with "same" padding (an even kernel's extra frame dropped), then the activation.
    Its weight is weight-normed over the kernel axis, or (HuBERT conv_pos_batch_norm) plain behind a BatchNorm."""

    def __init__(self, options: SpeechOptions):
        super().__init__()
        size, width = options.pos_conv_kernel, options.hidden_size
        conv = nn.Conv1d(width, width, size, padding=size // 2, groups=options.pos_conv_groups)
        if options.pos_conv_batch_norm:
            self.batch_norm = nn.BatchNorm1d(width)
            self.conv = conv
        else:
            self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.trim = 1 if size % 2 == 0 else 0
        self.activation = get_activation(options.conv_activation)

    def forward(self, hidden):
        x = hidden.transpose(1, 2)
        if hasattr(self, "batch_norm"):
            x = self.batch_norm(x)
        x = self.conv(x)
        if self.trim:
            x = x[:, :, : -self.trim]
        return self.activation(x).transpose(1, 2)


class SpeechFeedForward(nn.Module):
    def __init__(self, options: SpeechOptions):
        super().__init__()
        self.intermediate_dropout = nn.Dropout(options.activation_dropout)
        self.intermediate_dense = nn.Linear(options.hidden_size, options.intermediate_size)
        self.act = get_activation(options.activation)
        self.output_dense = nn.Linear(options.intermediate_size, options.hidden_size)
        self.output_dropout = nn.Dropout(options.hidden_dropout)

    def forward(self, hidden):
        hidden = self.intermediate_dropout(self.act(self.intermediate_dense(hidden)))
        return self.output_dropout(self.output_dense(hidden))


def relative_buckets(length: int, num_buckets: int, max_distance: int, device=None) -> torch.Tensor:
    """[length, length] bucket of each (query, key) distance: one direction per half of the buckets, exact
    buckets for distances below a quarter of them, logarithmic ones up to max_distance beyond."""
    relative = torch.arange(length, device=device)[None, :] - torch.arange(length, device=device)[:, None]
    half = num_buckets // 2
    exact = half // 2
    buckets = (relative > 0).to(torch.long) * half
    distance = relative.abs()
    far = torch.log(distance.float() / exact) / math.log(max_distance / exact) * (half - exact)
    far = torch.clamp((exact + far).to(torch.long), max=half - 1)
    return buckets + torch.where(distance < exact, distance, far)


class SpeechSelfAttention(nn.Module):
    """q/k/v/out_proj self-attention. With `options.relative` (WavLM) it adds a gated relative position bias:
    the first layer embeds bucketed distances per head (`rel_attn_embed`) and hands the table on; each layer
    scales it per query by a gate computed from its own hidden states (`gru_rel_pos_linear`,
    `gru_rel_pos_const`), and returns head-averaged attention weights, as transformers' WavLM does."""

    def __init__(self, options: SpeechOptions, has_bias_table: bool = False):
        super().__init__()
        o = self.options = options
        width = o.hidden_size
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.q_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)
        if o.relative:
            self.gru_rel_pos_const = nn.Parameter(torch.ones(1, o.num_heads, 1, 1))
            self.gru_rel_pos_linear = nn.Linear(o.head_dim, 8)
            if has_bias_table:
                self.rel_attn_embed = nn.Embedding(o.relative_buckets, o.num_heads)

    def position_bias(self, length: int, device) -> torch.Tensor:
        o = self.options
        buckets = relative_buckets(length, o.relative_buckets, o.relative_max_distance, device)
        return self.rel_attn_embed(buckets).permute(2, 0, 1)  # [heads, query, key]

    def forward(self, hidden, mask=None, position_bias=None, output_attentions: bool = False):
        """Returns (output, attention probabilities or None, the position bias for the next layer)."""
        o = self.options
        batch, length, _ = hidden.shape

        def heads(x):
            return x.view(batch, length, o.num_heads, o.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj(hidden)), heads(self.k_proj(hidden)), heads(self.v_proj(hidden))
        if o.relative:
            if position_bias is None:
                position_bias = self.position_bias(length, hidden.device)
            gates = torch.sigmoid(self.gru_rel_pos_linear(heads(hidden)).view(batch, o.num_heads, length, 2, 4).sum(-1))
            gate_a, gate_b = gates.chunk(2, dim=-1)
            gate = gate_a * (gate_b * self.gru_rel_pos_const - 1.0) + 2.0
            bias = gate * position_bias[None]
            mask = bias if mask is None else bias + mask
        dropout = o.attention_dropout if self.training else 0.0
        if output_attentions:
            context, probs = eager_attention(q, k, v, mask, o.head_dim**-0.5, dropout=dropout, training=self.training)
            if o.relative:  # WavLM reports the weights averaged over heads, repeated for every head
                probs = probs.mean(1, keepdim=True).expand(-1, o.num_heads, -1, -1)
        else:
            context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
            probs = None
        context = context.transpose(1, 2).reshape(batch, length, o.hidden_size)
        return self.out_proj(context), probs, position_bias


class SpeechAttnAdapterLayer(nn.Module):
    def __init__(self, options: SpeechOptions):
        super().__init__()
        self.norm = nn.LayerNorm(options.hidden_size)
        self.linear_1 = nn.Linear(options.hidden_size, options.attn_adapter_dim)
        self.act_fn = nn.ReLU()
        self.linear_2 = nn.Linear(options.attn_adapter_dim, options.hidden_size)

    def forward(self, hidden):
        return self.linear_2(self.act_fn(self.linear_1(self.norm(hidden))))


class SpeechEncoderLayer(nn.Module):
    def __init__(self, options: SpeechOptions, index: int):
        super().__init__()
        self.options = options
        self.attention = SpeechSelfAttention(options, has_bias_table=index == 0)
        self.dropout = nn.Dropout(options.hidden_dropout)
        self.layer_norm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        self.feed_forward = SpeechFeedForward(options)
        self.final_layer_norm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        if options.stable_layer_norm and options.attn_adapter_dim is not None:
            self.adapter_layer = SpeechAttnAdapterLayer(options)

    def forward(self, hidden, mask=None, position_bias=None, output_attentions: bool = False):
        if self.options.stable_layer_norm:
            attended, probs, position_bias = self.attention(self.layer_norm(hidden), mask, position_bias,
                                                            output_attentions)  # fmt: skip
            hidden = hidden + self.dropout(attended)
            hidden = hidden + self.feed_forward(self.final_layer_norm(hidden))
            if hasattr(self, "adapter_layer"):
                hidden = hidden + self.adapter_layer(hidden)
            return hidden, probs, position_bias
        attended, probs, position_bias = self.attention(hidden, mask, position_bias, output_attentions)
        hidden = self.layer_norm(hidden + self.dropout(attended))
        hidden = self.final_layer_norm(hidden + self.feed_forward(hidden))
        return hidden, probs, position_bias


class SpeechEncoder(nn.Module):
    def __init__(self, options: SpeechOptions):
        super().__init__()
        self.options = options
        self.pos_conv_embed = SpeechPositionalConvEmbedding(options)
        self.layer_norm = nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps)
        self.dropout = nn.Dropout(options.hidden_dropout)
        self.layers = nn.ModuleList(SpeechEncoderLayer(options, i) for i in range(options.num_layers))

    def forward(self, hidden, frames=None, output_attentions: bool = False):
        """(last hidden state, every layer's input plus the last state, attentions); `frames` is the bool
        [batch, frames] mask of real audio."""
        o = self.options
        mask = None
        if frames is not None:
            hidden = hidden.masked_fill(~frames[..., None], 0.0)
            mask = (~frames[:, None, None, :]).to(hidden.dtype) * torch.finfo(hidden.dtype).min
        hidden = hidden + self.pos_conv_embed(hidden)
        if not o.stable_layer_norm:
            hidden = self.layer_norm(hidden)
        hidden = self.dropout(hidden)
        states, attentions, position_bias = (), (), None
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            # LayerDrop while training, one draw per layer as transformers makes it (WavLM always runs its first
            # layer: it makes the position bias).
            if self.training and torch.rand([]).item() < o.layerdrop and (i > 0 or not o.relative):
                attentions += (None,)
                continue
            hidden, probs, position_bias = layer(hidden, mask, position_bias, output_attentions)
            attentions += (probs,)
        if o.stable_layer_norm:
            hidden = self.layer_norm(hidden)
        return hidden, states + (hidden,), attentions if output_attentions else None


class SpeechAdapterLayer(nn.Module):
    def __init__(self, options: SpeechOptions):
        super().__init__()
        a = options.adapter
        self.conv = nn.Conv1d(a.width, 2 * a.width, a.kernel, stride=a.stride, padding=1)

    def forward(self, hidden):
        return nn.functional.glu(self.conv(hidden), dim=1)


class SpeechAdapter(nn.Module):
    def __init__(self, options: SpeechOptions):
        super().__init__()
        a = self.adapter = options.adapter
        if a.project:
            self.proj = nn.Linear(options.hidden_size, a.width)
            self.proj_layer_norm = nn.LayerNorm(a.width)
        self.layers = nn.ModuleList(SpeechAdapterLayer(options) for _ in range(a.num_layers))
        self.layerdrop = options.layerdrop

    def forward(self, hidden):
        if self.adapter.project:
            hidden = self.proj_layer_norm(self.proj(hidden))
        hidden = hidden.transpose(1, 2)
        for layer in self.layers:
            if not self.training or np.random.random() > self.layerdrop:
                hidden = layer(hidden)
        return hidden.transpose(1, 2)


class SpeechPreTrainedModel(PreTrainedModel):
    main_input_name = "input_values"

    def _get_feat_extract_output_lengths(self, input_lengths, add_adapter: bool | None = None):
        """Frames of `input_lengths` samples (transformers' name; data collators and training scripts call it)."""
        return self.config.conv_output_lengths(input_lengths, add_adapter)

    def _get_feature_vector_attention_mask(self, feature_vector_length: int, attention_mask, add_adapter=None):
        return frame_mask(self.config, attention_mask, feature_vector_length, add_adapter)

    def freeze_feature_encoder(self) -> None:
        """Stop training the convolutional feature encoder (its parameters no longer require gradients)."""
        base = getattr(self, self.base_model_prefix, self)
        for parameter in base.feature_extractor.parameters():
            parameter.requires_grad = False

    def freeze_feature_extractor(self) -> None:
        """The deprecated name of freeze_feature_encoder."""
        warnings.warn("freeze_feature_extractor is deprecated; use freeze_feature_encoder.", FutureWarning,
                      stacklevel=2)  # fmt: skip
        self.freeze_feature_encoder()

    def freeze_base_model(self) -> None:
        """Train only the head: no parameter of the base model requires gradients."""
        for parameter in getattr(self, self.base_model_prefix).parameters():
            parameter.requires_grad = False

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv1d) and module.weight.device.type != "meta":
            nn.init.kaiming_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, SpeechEncoderModel) and getattr(module, "masked_spec_embed", None) is not None:
            nn.init.uniform_(module.masked_spec_embed)
        elif isinstance(module, SpeechTaskModel) and getattr(module, "layer_weights", None) is not None:
            nn.init.constant_(module.layer_weights, 1.0 / module.layer_weights.numel())
        elif isinstance(module, SpeechSelfAttention) and module.options.relative:
            nn.init.ones_(module.gru_rel_pos_const)
        elif isinstance(module, AMSoftmaxLoss):
            nn.init.normal_(module.weight)


class SpeechEncoderModel(SpeechPreTrainedModel):
    """The base model: features -> projection -> (masked time steps) -> transformer -> (adapter)."""

    extract_features = True  # whether the output carries the projection's input (Wav2Vec2BaseModelOutput)
    spec_augment_lengths = True  # whether training's random time masks stay within each example's frames

    def __init__(self, config):
        super().__init__(config)
        o = self.options = config.speech_options()
        self.feature_extractor = SpeechFeatureEncoder(o)
        self.feature_projection = SpeechFeatureProjection(o)
        if o.masked_spec_embed:
            self.masked_spec_embed = nn.Parameter(torch.empty(o.hidden_size).uniform_())
        self.encoder = SpeechEncoder(o)
        if o.adapter is not None:
            self.adapter = SpeechAdapter(o)

    def forward(self, input_values=None, attention_mask=None, mask_time_indices=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if input_values is None:
            raise ValueError(f"{type(self).__name__} needs input_values.")
        check_audio(self.config, input_values.shape)
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        features = self.feature_extractor(input_values.to(self.feature_projection.projection.weight.dtype))
        features = features.transpose(1, 2)
        frames = None
        if attention_mask is not None:
            frames = frame_mask(self.config, attention_mask, features.shape[1], add_adapter=False)
        hidden, extract_features = self.feature_projection(features)
        hidden = self.mask_hidden(hidden, mask_time_indices, frames)
        hidden, states, attentions = self.encoder(hidden, frames, output_attentions)
        if self.options.adapter is not None:
            hidden = self.adapter(hidden)
        values = dict(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None,
                      attentions=attentions)  # fmt: skip
        if self.extract_features:
            result = out.Wav2Vec2BaseModelOutput(extract_features=extract_features, **values)
        else:
            result = out.BaseModelOutput(**values)
        return self._finish(result, return_dict)

    def mask_hidden(self, hidden, mask_time_indices=None, frames=None):
        """SpecAugment: the given masked time steps take the learned vector; while training, random time spans
        (unless given) do too and random feature channels are zeroed, as the config asks."""
        o = self.options
        if not o.apply_spec_augment:
            return hidden
        if mask_time_indices is not None:
            if not o.masked_spec_embed:
                raise ValueError(
                    "mask_time_indices needs the learned masked_spec_embed, which this config has none of "
                    "(mask_time_prob and mask_feature_prob are both 0)."
                )
            hidden = torch.where(mask_time_indices.to(torch.bool)[..., None], self.masked_spec_embed.to(hidden.dtype),
                                 hidden)  # fmt: skip
        if not self.training:
            return hidden
        lengths = frames.sum(-1).tolist() if frames is not None and self.spec_augment_lengths else None
        time, feature = training_masks(o, hidden.shape[0], hidden.shape[1], lengths)
        if time is not None and mask_time_indices is None:
            time = torch.from_numpy(time).to(hidden.device)
            hidden = torch.where(time[..., None], self.masked_spec_embed.to(hidden.dtype), hidden)
        if feature is not None:
            hidden = hidden.masked_fill(torch.from_numpy(feature).to(hidden.device)[:, None, :], 0.0)
        return hidden


# -- heads -------------------------------------------------------------------------------------------------
class SpeechTaskModel(TaskModel):
    """A speech base model plus one head; `weighted` heads read the learned softmax-weighted sum of every
    hidden state (`layer_weights`) when config.use_weighted_layer_sum."""

    main_input_name = "input_values"
    weighted = False

    def __init__(self, config):
        super().__init__(config)
        if self.weighted and config.use_weighted_layer_sum:
            layers = config.num_hidden_layers + 1
            self.layer_weights = nn.Parameter(torch.ones(layers) / layers)

    def encode_audio(self, input_values, attention_mask, output_attentions, output_hidden_states):
        if self.weighted and self.config.use_weighted_layer_sum:
            output_hidden_states = True
        return self.encode(input_values, attention_mask=attention_mask, output_attentions=output_attentions,
                           output_hidden_states=output_hidden_states)  # fmt: skip

    def layer_output(self, encoded) -> torch.Tensor:
        if not (self.weighted and self.config.use_weighted_layer_sum):
            return encoded.last_hidden_state
        weights = nn.functional.softmax(self.layer_weights, dim=-1)
        return (torch.stack(encoded.hidden_states, dim=1) * weights[None, :, None, None]).sum(dim=1)


def ctc_loss(logits, labels, attention_mask, input_values, config) -> torch.Tensor:
    """CTC over each example's frames; labels padded with negative values (-100), blank = pad_token_id."""
    mask = attention_mask if attention_mask is not None else torch.ones_like(input_values, dtype=torch.long)
    input_lengths = frame_lengths(config, mask)
    targets = labels >= 0
    log_probs = nn.functional.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
    with torch.backends.cudnn.flags(enabled=False):
        return nn.functional.ctc_loss(log_probs, labels.masked_select(targets), input_lengths, targets.sum(-1),
                                      blank=config.pad_token_id, reduction=config.ctc_loss_reduction,
                                      zero_infinity=config.ctc_zero_infinity)  # fmt: skip


class CTCModel(SpeechTaskModel):
    """Per-frame vocabulary logits (`lm_head` after dropout), CTC loss from labels."""

    def __init__(self, config):
        if config.vocab_size is None:
            raise ValueError(f"{type(self).__name__} needs config.vocab_size (the CTC vocabulary) to be set.")
        super().__init__(config)
        self.add_output_layer(config.vocab_size)

    def forward(self, input_values=None, attention_mask=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if labels is not None and labels.max() >= self.config.vocab_size:
            raise ValueError(f"Label values must be < vocab_size ({self.config.vocab_size}).")
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states)
        logits = self.output_layer(encoded.last_hidden_state)
        loss = None
        if labels is not None:
            loss = ctc_loss(logits, labels, attention_mask, input_values, self.config)
        return self._finish(out.from_encoded(out.CausalLMOutput, encoded, loss=loss, logits=logits), return_dict)


class AudioClassificationModel(SpeechTaskModel):
    """`projector` on every frame, the mean over the frames of real audio, then `classifier`."""

    weighted = True

    def __init__(self, config):
        refuse_adapter(config, type(self).__name__)
        super().__init__(config)
        self.projector = nn.Linear(config.hidden_size, config.classifier_proj_size)
        self.add_output_layer(config.num_labels)

    def forward(self, input_values=None, attention_mask=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states)
        projected = self.projector(self.layer_output(encoded))
        frames = None if attention_mask is None else frame_mask(self.config, attention_mask, projected.shape[1])
        logits = self.output_layer(self.pool(out.BaseModelOutput(last_hidden_state=projected), mask=frames))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
        result = out.from_encoded(out.SequenceClassifierOutput, encoded, loss=loss, logits=logits)
        return self._finish(result, return_dict)


class AudioFrameClassificationModel(SpeechTaskModel):
    """`classifier` on every frame; labels are per-frame one-hot (or scores), their argmax the target."""

    weighted = True

    def __init__(self, config):
        refuse_adapter(config, type(self).__name__)
        super().__init__(config)
        self.add_output_layer(config.num_labels)

    def forward(self, input_values=None, attention_mask=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states)
        logits = self.output_layer(self.layer_output(encoded))
        loss = None
        if labels is not None:
            n = self.config.num_labels
            loss = nn.functional.cross_entropy(logits.view(-1, n), torch.argmax(labels.view(-1, n), dim=1))
        return self._finish(out.from_encoded(out.TokenClassifierOutput, encoded, loss=loss, logits=logits), return_dict)


class TDNNLayer(nn.Module):
    """A dilated 1-D conv + ReLU stored as a Linear over the unfolded kernel (the checkpoints' `kernel`)."""

    def __init__(self, config, index: int):
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
    """Additive-margin softmax over cosine scores (`weight` [dim, num_labels]); the x-vector training loss."""

    def __init__(self, input_dim: int, num_labels: int, scale: float = 30.0, margin: float = 0.4):
        super().__init__()
        self.scale, self.margin = scale, margin
        self.weight = nn.Parameter(torch.randn(input_dim, num_labels))

    def forward(self, hidden, labels):
        labels = labels.flatten()
        cos = nn.functional.normalize(hidden, dim=1) @ nn.functional.normalize(self.weight, dim=0)
        onehot = nn.functional.one_hot(labels, cos.shape[-1]).bool()
        return nn.functional.cross_entropy(self.scale * torch.where(onehot, cos - self.margin, cos), labels)


class XVectorModel(SpeechTaskModel):
    """`projector`, TDNN layers, mean and (unbiased) std over each example's frames, `feature_extractor` to
    the embedding, `classifier`; `objective` holds the AM-softmax loss weight."""

    weighted = True

    def __init__(self, config):
        options = config.speech_options()
        if options.output_width != config.hidden_size:
            raise ValueError(
                f"{type(self).__name__}: the adapter's output width (output_hidden_size={options.output_width}) "
                f"must equal hidden_size ({config.hidden_size}), which the x-vector projector reads."
            )
        super().__init__(config)
        self.projector = nn.Linear(config.hidden_size, config.tdnn_dim[0])
        self.tdnn = nn.ModuleList(TDNNLayer(config, i) for i in range(len(config.tdnn_dim)))
        self.feature_extractor = nn.Linear(config.tdnn_dim[-1] * 2, config.xvector_output_dim)
        self.classifier = nn.Linear(config.xvector_output_dim, config.xvector_output_dim)
        self.objective = AMSoftmaxLoss(config.xvector_output_dim, config.num_labels)

    def forward(self, input_values=None, attention_mask=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states)
        hidden = self.projector(self.layer_output(encoded))
        for layer in self.tdnn:
            hidden = layer(hidden)
        if attention_mask is None:
            stats = torch.cat([hidden.mean(dim=1), hidden.std(dim=1)], dim=-1)
        else:
            lengths = self.config.tdnn_output_lengths(frame_lengths(self.config, attention_mask)).tolist()
            kept = [h[: sliced_length(n, hidden.shape[1])] for h, n in zip(hidden, lengths)]
            stats = torch.stack([torch.cat([h.mean(dim=0), h.std(dim=0)]) for h in kept])
        embeddings = self.feature_extractor(stats)
        logits = self.classifier(embeddings)
        loss = self.objective(logits, labels) if labels is not None else None
        result = out.from_encoded(out.XVectorOutput, encoded, loss=loss, logits=logits, embeddings=embeddings)
        return self._finish(result, return_dict)
