"""Whisper in PyTorch: a convolution front end over log-mel features, then the block library's pre-norm
encoder-decoder (no key bias, final layer norms, learned decoder positions)."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.generation import decoder_mask_inputs
from autoload.generation.whisper import outputs_as, transcribe
from autoload.models.whisper import WhisperConfig
from autoload.seq2seq import whisper_sinusoids

from ..blocks.seq2seq import LayerStack, Seq2SeqDecoder, Seq2SeqForCausalLM, Seq2SeqModel, Seq2SeqPreTrainedModel
from ..generation import GenerationMixin
from ..losses import sequence_classification_loss, token_loss


class WhisperEncoder(LayerStack):
    def __init__(self, config: WhisperConfig, embed_tokens=None):
        super().__init__()
        self.config = config
        self.conv1 = nn.Conv1d(config.num_mel_bins, config.d_model, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(config.d_model, config.d_model, kernel_size=3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(config.max_source_positions, config.d_model)
        self.embed_positions.requires_grad_(False)
        self.build_layers(config, decoder=False)

    def forward(self, input_features, attention_mask=None, inputs_embeds=None, output_attentions=False,
                output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        frames = self.config.max_source_positions * 2
        if input_features is None or input_features.ndim != 3 or input_features.shape[1:] != (self.config.num_mel_bins, frames):
            shape = None if input_features is None else tuple(input_features.shape)
            raise ValueError(
                f"Whisper expects input_features of shape [batch, {self.config.num_mel_bins}, {frames}] (log-mel "
                f"frames padded to {frames}); got {shape}. Use WhisperFeatureExtractor."
            )
        x = nn.functional.gelu(self.conv1(input_features.to(self.conv1.weight.dtype)))
        x = nn.functional.gelu(self.conv2(x)).permute(0, 2, 1)
        hidden = self.dropout(x + self.embed_positions.weight[: x.shape[1]])
        encoded = self.run_layers(hidden, None, output_attentions=output_attentions,
                                  output_hidden_states=output_hidden_states)  # fmt: skip
        return out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                                   attentions=encoded.attentions)  # fmt: skip


class WhisperDecoder(Seq2SeqDecoder):
    pass


class WhisperPreTrainedModel(Seq2SeqPreTrainedModel):
    config_class = WhisperConfig
    main_input_name = "input_features"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Conv1d):
            nn.init.normal_(module.weight, std=self.config.init_std)
            nn.init.zeros_(module.bias)
        if isinstance(module, WhisperEncoder):
            with torch.no_grad():
                module.embed_positions.weight.copy_(torch.from_numpy(whisper_sinusoids(*module.embed_positions.weight.shape)))


class WhisperModel(Seq2SeqModel, WhisperPreTrainedModel):
    encoder_class = WhisperEncoder
    decoder_class = WhisperDecoder
    encoder_embeds = False

    @staticmethod
    def shares_embeddings(config) -> bool:
        return False

    def get_input_embeddings(self):
        return self.decoder.embed_tokens

    def run_encoder(self, input_features, attention_mask, inputs_embeds, output_attentions, output_hidden_states):
        return self.encoder(input_features, output_attentions=output_attentions, output_hidden_states=output_hidden_states)

    def forward(self, input_features=None, decoder_input_ids=None, decoder_attention_mask=None, encoder_outputs=None,
                past_key_values=None, decoder_inputs_embeds=None, **kwargs):  # fmt: skip
        if encoder_outputs is None and input_features is None:
            raise ValueError("Whisper needs input_features (or encoder_outputs).")
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            raise ValueError(
                "Whisper's decoder needs decoder_input_ids (start with config.decoder_start_token_id), or labels "
                "for WhisperForConditionalGeneration."
            )
        kwargs.pop("attention_mask", None)  # Whisper does not mask input features (transformers ignores it too)
        return super().forward(input_features, decoder_input_ids=decoder_input_ids,
                               decoder_attention_mask=decoder_attention_mask, encoder_outputs=encoder_outputs,
                               past_key_values=past_key_values, decoder_inputs_embeds=decoder_inputs_embeds, **kwargs)


class WhisperForConditionalGeneration(WhisperPreTrainedModel, GenerationMixin):
    decoder_positions_from_mask = True  # generate() counts a left-padded decoder prompt's positions from its mask
    _tied_weights_keys = ["proj_out.weight"]

    def __init__(self, config: WhisperConfig):
        super().__init__(config)
        self.model = WhisperModel(config)
        self.proj_out = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def get_output_embeddings(self):
        return self.proj_out

    def get_encoder(self):
        return self.model.encoder

    def generate(self, input_features=None, language=None, task=None, return_timestamps=None, **kwargs):
        """Like transformers' Whisper: the transcript tokens of each example without the decoder prompt (start,
        language, task) or end token, with timestamp tokens when return_timestamps; with return_segments=True,
        {"sequences": those, "segments": each example's segments} (autoload.generation.whisper.transcribe)."""
        features = torch.as_tensor(input_features, device=self.device)

        def masked(mask):  # a left-padded prompt's decoder mask and positions
            return {k: torch.as_tensor(v, device=self.device) for k, v in decoder_mask_inputs(mask).items()}

        def first_logits(window, tokens, mask=None):
            window = torch.as_tensor(window, device=self.device).to(features.dtype)
            with torch.no_grad():
                logits = self(input_features=window, decoder_input_ids=torch.as_tensor(tokens, device=self.device),
                              **masked(mask)).logits  # fmt: skip
            return logits[:, -1].float().cpu().numpy()

        def run(segment, prompt, config, options):
            segment = torch.as_tensor(segment, device=self.device).to(features.dtype)
            return GenerationMixin.generate(self, input_features=segment, decoder_input_ids=prompt,
                                            generation_config=config, **options).cpu().numpy()  # fmt: skip

        def alignment_weights(window, tokens, heads, mask=None):
            window = torch.as_tensor(window, device=self.device).to(features.dtype)
            with torch.no_grad():
                out = self(input_features=window, decoder_input_ids=torch.as_tensor(tokens, device=self.device),
                           output_attentions=True, **masked(mask))  # fmt: skip
            return torch.stack([out.cross_attentions[layer][:, head] for layer, head in heads], 1).float().cpu().numpy()

        result = transcribe(self, features.float().cpu().numpy(), kwargs, language=language, task=task,
                            return_timestamps=return_timestamps, first_logits=first_logits, generate=run,
                            alignment_weights=alignment_weights)  # fmt: skip
        return outputs_as(result, lambda array: torch.from_numpy(array).to(self.device))

    def forward(self, input_features=None, decoder_input_ids=None, labels=None, return_dict=None, **kwargs):
        if labels is not None and decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            decoder_input_ids = self.model.labels_to_decoder_inputs(labels)
        encoded = self.model(input_features, decoder_input_ids, return_dict=True, **kwargs)
        logits = self.proj_out(encoded.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.Seq2SeqLMOutput, encoded, loss=loss, logits=logits), return_dict)


class WhisperForCausalLM(Seq2SeqForCausalLM, WhisperPreTrainedModel):
    main_input_name = "input_ids"
    decoder_class = WhisperDecoder
    lm_head_name = "proj_out"
    marks_decoder = False

    def forward(self, input_ids=None, attention_mask=None, encoder_outputs=None, **kwargs):
        encoder_hidden = encoder_outputs[0] if encoder_outputs is not None else None
        return super().forward(input_ids, attention_mask, encoder_hidden, **kwargs)


class WhisperForAudioClassification(WhisperPreTrainedModel):
    def __init__(self, config: WhisperConfig):
        super().__init__(config)
        self.encoder = WhisperEncoder(config)
        if config.use_weighted_layer_sum:
            self.layer_weights = nn.Parameter(torch.ones(config.encoder_layers + 1) / (config.encoder_layers + 1))
        self.projector = nn.Linear(config.d_model, config.classifier_proj_size)
        self.classifier = nn.Linear(config.classifier_proj_size, config.num_labels)

    def forward(self, input_features=None, labels=None, output_attentions=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        weighted = self.config.use_weighted_layer_sum
        keep = True if weighted else self._flag(output_hidden_states, "output_hidden_states")
        encoded = self.encoder(input_features, output_attentions=self._flag(output_attentions, "output_attentions"),
                               output_hidden_states=keep)  # fmt: skip
        if weighted:
            weights = nn.functional.softmax(self.layer_weights, dim=-1)
            hidden = (torch.stack(encoded.hidden_states, dim=1) * weights[None, :, None, None]).sum(dim=1)
        else:
            hidden = encoded.last_hidden_state
        logits = self.classifier(self.projector(hidden).mean(dim=1))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return self._finish(out.from_encoded(out.SequenceClassifierOutput, encoded, loss=loss, logits=logits), return_dict)
