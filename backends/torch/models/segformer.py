"""SegFormer in PyTorch: the Mix Transformer encoder (overlapping patch embeddings, attention over a key/value
sequence shrunk by a strided convolution, Mix-FFN with a depthwise convolution) and the all-MLP decode head."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.segformer import SegformerConfig, SegformerStage

from ..activations import get_activation
from ..blocks.segmentation import resize
from ..blocks.vision import DropPath, attend, check_pixel_values
from ..heads import ImageClassificationModel, TaskModel
from ..modeling import PreTrainedModel


class SegformerOverlapPatchEmbeddings(nn.Module):
    """A strided convolution with overlapping windows (`proj`), then LayerNorm over the tokens."""

    def __init__(self, stage: SegformerStage):
        super().__init__()
        self.proj = nn.Conv2d(stage.in_channels, stage.width, stage.patch_size, stage.stride, stage.patch_size // 2)
        self.layer_norm = nn.LayerNorm(stage.width)

    def forward(self, x):
        x = self.proj(x)
        return self.layer_norm(x.flatten(2).transpose(1, 2)), tuple(x.shape[-2:])


class SegformerEfficientSelfAttention(nn.Module):
    """Queries from every token; keys and values from the map shrunk sr_ratio times by a strided convolution
    (`sr`) and normalised (`layer_norm`)."""

    def __init__(self, config: SegformerConfig, stage: SegformerStage):
        super().__init__()
        width = stage.width
        self.num_heads, self.head_dim = stage.heads, width // stage.heads
        self.query, self.key, self.value = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.dropout_p = config.attention_probs_dropout_prob
        self.sr_ratio = stage.sr_ratio
        if stage.sr_ratio > 1:
            self.sr = nn.Conv2d(width, width, stage.sr_ratio, stage.sr_ratio)
            self.layer_norm = nn.LayerNorm(width)

    def _heads(self, x):
        return x.view(x.shape[0], -1, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, grid, output_attentions=False):
        batch, _, channels = hidden.shape
        queries = self._heads(self.query(hidden))
        if self.sr_ratio > 1:
            reduced = self.sr(hidden.transpose(1, 2).reshape(batch, channels, *grid))
            hidden = self.layer_norm(reduced.reshape(batch, channels, -1).transpose(1, 2))
        keys, values = self._heads(self.key(hidden)), self._heads(self.value(hidden))
        context, probs = attend(queries, keys, values, None, None, self.dropout_p, self.training, output_attentions)
        return context.transpose(1, 2).reshape(batch, -1, channels), probs


class SegformerSelfOutput(nn.Module):
    def __init__(self, config: SegformerConfig, width: int):
        super().__init__()
        self.dense = nn.Linear(width, width)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden):
        return self.dropout(self.dense(hidden))


class SegformerAttention(nn.Module):
    def __init__(self, config: SegformerConfig, stage: SegformerStage):
        super().__init__()
        self.self = SegformerEfficientSelfAttention(config, stage)
        self.output = SegformerSelfOutput(config, stage.width)

    def forward(self, hidden, grid, output_attentions=False):
        context, probs = self.self(hidden, grid, output_attentions)
        return self.output(context), probs


class SegformerDWConv(nn.Module):
    """A 3x3 depthwise convolution over the token map (`dwconv`)."""

    def __init__(self, width: int):
        super().__init__()
        self.dwconv = nn.Conv2d(width, width, 3, 1, 1, groups=width)

    def forward(self, hidden, grid):
        batch, _, channels = hidden.shape
        hidden = self.dwconv(hidden.transpose(1, 2).reshape(batch, channels, *grid))
        return hidden.flatten(2).transpose(1, 2)


class SegformerMixFFN(nn.Module):
    """dense1 -> depthwise conv -> activation -> dropout -> dense2 -> dropout."""

    def __init__(self, config: SegformerConfig, stage: SegformerStage):
        super().__init__()
        self.dense1 = nn.Linear(stage.width, stage.mlp_width)
        self.dwconv = SegformerDWConv(stage.mlp_width)
        self.intermediate_act_fn = get_activation(config.hidden_act)
        self.dense2 = nn.Linear(stage.mlp_width, stage.width)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden, grid):
        hidden = self.dropout(self.intermediate_act_fn(self.dwconv(self.dense1(hidden), grid)))
        return self.dropout(self.dense2(hidden))


class SegformerLayer(nn.Module):
    """Pre-norm: layer_norm_1 -> attention -> drop path -> +; layer_norm_2 -> Mix-FFN -> drop path -> +."""

    def __init__(self, config: SegformerConfig, stage: SegformerStage, index: int):
        super().__init__()
        self.layer_norm_1 = nn.LayerNorm(stage.width)
        self.attention = SegformerAttention(config, stage)
        self.drop_path = DropPath(stage.drop_path_rates[index])
        self.layer_norm_2 = nn.LayerNorm(stage.width)
        self.mlp = SegformerMixFFN(config, stage)

    def forward(self, hidden, grid, output_attentions=False):
        attended, probs = self.attention(self.layer_norm_1(hidden), grid, output_attentions)
        hidden = self.drop_path(attended) + hidden
        return self.drop_path(self.mlp(self.layer_norm_2(hidden), grid)) + hidden, probs


class SegformerEncoder(nn.Module):
    """Per block: `patch_embeddings.<i>`, the layers `block.<i>.<j>`, then `layer_norm.<i>`; every block's output
    is returned as a channels-first map (the last one as a sequence when reshape_last_stage is False)."""

    def __init__(self, config: SegformerConfig):
        super().__init__()
        self.config = config
        stages = config.segformer_options()
        self.patch_embeddings = nn.ModuleList(SegformerOverlapPatchEmbeddings(s) for s in stages)
        self.block = nn.ModuleList(nn.ModuleList(SegformerLayer(config, s, j) for j in range(s.depth)) for s in stages)
        self.layer_norm = nn.ModuleList(nn.LayerNorm(s.width) for s in stages)

    def forward(self, pixel_values, output_attentions=False, output_hidden_states=False):
        hidden, states, attentions = pixel_values, (), ()
        last = len(self.block) - 1
        for i, (embed, layers, norm) in enumerate(zip(self.patch_embeddings, self.block, self.layer_norm)):
            hidden, grid = embed(hidden)
            for layer in layers:
                hidden, probs = layer(hidden, grid, output_attentions)
                attentions += (probs,)
            hidden = norm(hidden)
            if i != last or self.config.reshape_last_stage:
                hidden = hidden.transpose(1, 2).reshape(hidden.shape[0], -1, *grid)
            states += (hidden,)
        return hidden, states if output_hidden_states else None, attentions if output_attentions else None


class SegformerPreTrainedModel(PreTrainedModel):
    config_class = SegformerConfig
    base_model_prefix = "segformer"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


class SegformerModel(SegformerPreTrainedModel):
    def __init__(self, config: SegformerConfig):
        super().__init__(config)
        self.encoder = SegformerEncoder(config)

    def get_input_embeddings(self):
        return self.encoder.patch_embeddings[0]

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        check_pixel_values(pixel_values, self.config.num_channels)
        hidden, states, attentions = self.encoder(pixel_values, self._flag(output_attentions, "output_attentions"),
                                                  self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        result = out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states, attentions=attentions)
        return self._finish(result, return_dict)


class SegformerForImageClassification(ImageClassificationModel, SegformerPreTrainedModel):
    base_class = SegformerModel
    output_class = out.SegFormerImageClassifierOutput

    def pool(self, encoded, input_ids=None, mask=None):
        """The mean of the last block's output over its positions."""
        hidden = encoded.last_hidden_state
        if hidden.ndim == 4:  # a channels-first map
            hidden = hidden.flatten(2).transpose(1, 2)
        return hidden.mean(1)


class SegformerMLP(nn.Module):
    """One block's map as tokens, projected to decoder_hidden_size (`proj`)."""

    def __init__(self, config: SegformerConfig, width: int):
        super().__init__()
        self.proj = nn.Linear(width, config.decoder_hidden_size)

    def forward(self, x):
        return self.proj(x.flatten(2).transpose(1, 2))


class SegformerDecodeHead(nn.Module):
    """Every block projected to one width and resized to the first block's map; concatenated deepest first, fused
    by a 1x1 convolution (`linear_fuse`) with BatchNorm and ReLU, then a 1x1 classifier."""

    def __init__(self, config: SegformerConfig):
        super().__init__()
        self.linear_c = nn.ModuleList(SegformerMLP(config, s.width) for s in config.segformer_options())
        width = config.decoder_hidden_size
        self.linear_fuse = nn.Conv2d(width * config.num_encoder_blocks, width, 1, bias=False)
        self.batch_norm = nn.BatchNorm2d(width)
        self.activation = nn.ReLU()
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = nn.Conv2d(width, config.num_labels, 1)

    def forward(self, maps):
        size = maps[0].shape[2:]
        projected = []
        for hidden, mlp in zip(maps, self.linear_c):
            tokens = mlp(hidden)
            projected.append(resize(tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *hidden.shape[2:]), size))
        fused = self.activation(self.batch_norm(self.linear_fuse(torch.cat(projected[::-1], dim=1))))
        return self.classifier(self.dropout(fused))


def semantic_loss(logits, labels, config) -> torch.Tensor:
    """Cross-entropy of the logits resized to the labels (ignoring semantic_loss_ignore_index); with one label,
    binary cross-entropy averaged over every pixel with the ignored ones counted as zero."""
    logits = resize(logits, labels.shape[-2:])
    if config.num_labels > 1:
        return nn.functional.cross_entropy(logits, labels, ignore_index=config.semantic_loss_ignore_index)
    valid = ((labels >= 0) & (labels != config.semantic_loss_ignore_index)).float()
    losses = nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), labels.float(), reduction="none")
    return (losses * valid).mean()


class SegformerForSemanticSegmentation(TaskModel, SegformerPreTrainedModel):
    base_class = SegformerModel

    def __init__(self, config: SegformerConfig):
        super().__init__(config)
        config.check_decode_head()
        self.decode_head = SegformerDecodeHead(config)

    def forward(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        if labels is not None and self.config.num_labels < 1:
            raise ValueError(f"Number of labels should be >=0: {self.config.num_labels}")
        keep = self._flag(output_hidden_states, "output_hidden_states")
        encoded = self.encode(pixel_values, output_hidden_states=True, **kwargs)
        logits = self.decode_head(encoded.hidden_states)
        loss = semantic_loss(logits, labels, self.config) if labels is not None else None
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states if keep else None,
                                             attentions=encoded.attentions)  # fmt: skip
        return self._finish(result, return_dict)
