"""Wav2Vec2 in PyTorch on the speech block library (blocks/speech.py), plus its own pre-training head: a
Gumbel product quantizer over the conv features and the contrastive + diversity loss."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.wav2vec2 import Wav2Vec2Config

from ..blocks.speech import (
    AudioClassificationModel,
    AudioFrameClassificationModel,
    CTCModel,
    SpeechEncoderModel,
    SpeechPreTrainedModel,
    SpeechTaskModel,
    XVectorModel,
)


class Wav2Vec2PreTrainedModel(SpeechPreTrainedModel):
    config_class = Wav2Vec2Config
    base_model_prefix = "wav2vec2"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, Wav2Vec2GumbelVectorQuantizer) and module.codevectors.device.type != "meta":
            nn.init.uniform_(module.codevectors)


class Wav2Vec2Model(SpeechEncoderModel, Wav2Vec2PreTrainedModel):
    pass


class Wav2Vec2ForCTC(CTCModel, Wav2Vec2PreTrainedModel):
    base_class = Wav2Vec2Model


class Wav2Vec2ForMaskedLM(CTCModel, Wav2Vec2PreTrainedModel):
    """The deprecated name of a CTC head without the CTC loss; kept so its checkpoints load. Like the original
    it ignores attention_mask and reads the encoder's hidden size even with an adapter."""

    base_class = Wav2Vec2Model

    def forward(self, input_values=None, attention_mask=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, None, output_attentions, output_hidden_states)
        logits = self.output_layer(encoded.last_hidden_state)
        return self._finish(out.from_encoded(out.MaskedLMOutput, encoded, logits=logits), return_dict)


class Wav2Vec2ForSequenceClassification(AudioClassificationModel, Wav2Vec2PreTrainedModel):
    base_class = Wav2Vec2Model


class Wav2Vec2ForAudioFrameClassification(AudioFrameClassificationModel, Wav2Vec2PreTrainedModel):
    base_class = Wav2Vec2Model


class Wav2Vec2ForXVector(XVectorModel, Wav2Vec2PreTrainedModel):
    base_class = Wav2Vec2Model


class Wav2Vec2GumbelVectorQuantizer(nn.Module):
    """Product quantisation of the conv features: Gumbel-softmax codes while training, the argmax code of each
    group otherwise; returns (codes, perplexity of the code distribution over the masked steps)."""

    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        self.num_groups = config.num_codevector_groups
        self.num_vars = config.num_codevectors_per_group
        if config.codevector_dim % self.num_groups:
            raise ValueError(
                f"codevector_dim ({config.codevector_dim}) must be divisible by num_codevector_groups "
                f"({self.num_groups})."
            )
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


class Wav2Vec2ForPreTraining(SpeechTaskModel, Wav2Vec2PreTrainedModel):
    base_class = Wav2Vec2Model

    def __init__(self, config: Wav2Vec2Config):
        super().__init__(config)
        self.quantizer = Wav2Vec2GumbelVectorQuantizer(config)
        self.project_hid = nn.Linear(config.hidden_size, config.proj_codevector_dim)
        self.project_q = nn.Linear(config.codevector_dim, config.proj_codevector_dim)

    def set_gumbel_temperature(self, temperature: float) -> None:
        self.quantizer.temperature = temperature

    def forward(self, input_values=None, attention_mask=None, mask_time_indices=None, sampled_negative_indices=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if mask_time_indices is not None:
            mask_time_indices = mask_time_indices.to(torch.bool)
        encoded = self.encode(input_values, attention_mask=attention_mask, mask_time_indices=mask_time_indices,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states)  # fmt: skip
        projected = self.project_hid(encoded.last_hidden_state)
        quantized, perplexity = self.quantizer(self.dropout(encoded.extract_features), mask_time_indices)
        quantized = self.project_q(quantized.to(self.project_q.weight.dtype))
        loss = contrastive = diversity = None
        if sampled_negative_indices is not None:
            if mask_time_indices is None:
                raise ValueError("The pre-training loss needs mask_time_indices with sampled_negative_indices.")
            contrastive, diversity = self.pretraining_losses(projected, quantized, perplexity, mask_time_indices,
                                                             sampled_negative_indices)  # fmt: skip
            loss = contrastive + self.config.diversity_loss_weight * diversity
        result = out.from_encoded(out.Wav2Vec2ForPreTrainingOutput, encoded, loss=loss, projected_states=projected,
                                  projected_quantized_states=quantized, codevector_perplexity=perplexity,
                                  contrastive_loss=contrastive, diversity_loss=diversity)  # fmt: skip
        return self._finish(result, return_dict)

    def pretraining_losses(self, projected, quantized, perplexity, mask_time_indices, negative_indices):
        """Contrastive loss (cosine similarity / temperature of each masked step's prediction to its true code
        against the sampled distractors, cross entropy summed) and the codebook diversity loss."""
        batch, length, width = quantized.shape
        negatives = quantized.view(-1, width)[negative_indices.long().view(-1)]
        negatives = negatives.view(batch, length, -1, width).permute(2, 0, 1, 3)
        candidates = torch.cat([quantized[None], negatives], dim=0)
        logits = torch.cosine_similarity(projected.float(), candidates.float(), dim=-1).type_as(candidates)
        logits = logits / self.config.contrastive_logits_temperature
        same = (quantized == negatives).all(-1)  # a distractor equal to the true code is not counted
        if same.any():
            logits[1:][same] = float("-inf")
        logits = logits.transpose(0, 2).reshape(-1, logits.shape[0])
        target = ((1 - mask_time_indices.long()) * -100).transpose(0, 1).flatten()
        contrastive = nn.functional.cross_entropy(logits.float(), target, reduction="sum")
        codes = self.config.num_codevectors_per_group * self.config.num_codevector_groups
        diversity = ((codes - perplexity) / codes) * mask_time_indices.sum()
        return contrastive, diversity
