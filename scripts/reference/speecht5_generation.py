"""Generation references for SpeechT5 (transformers 4.57.6): spectrogram generation of the tiny random
SpeechT5ForTextToSpeech fixture (its speech_decoder_prenet_dropout is 0, so generation is deterministic) in
every return convention, greedy and beam transcription of the SpeechT5ForSpeechToText fixture, and one forward
pass with prenet dropout 0.5 under torch.manual_seed (the masks torch draws), and the text-to-speech and speech-to-text losses. Run with the side environment:

    python scripts/reference/speecht5_generation.py tests/fixtures/models/speecht5 tests/fixtures/speecht5_generation
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import SpeechT5ForSpeechToText, SpeechT5ForTextToSpeech

models, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
arrays, cases = {}, {}


def put(name: str, value) -> str:
    arrays[name] = np.asarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value)
    return name


tts = SpeechT5ForTextToSpeech.from_pretrained(models / "SpeechT5ForTextToSpeech").eval()
inputs = dict(np.load(models / "SpeechT5ForTextToSpeech" / "inputs.npz"))
ids, mask, speakers = (torch.from_numpy(inputs[k]) for k in ("input_ids", "attention_mask", "speaker_embeddings"))
put("tts_input_ids", ids), put("tts_attention_mask", mask), put("tts_speakers", speakers)
variants = {  # threshold 1.1: the two examples stop after 7 and 12 steps
    "single": dict(input_ids=ids[:1], speaker_embeddings=speakers[:1], threshold=1.1, maxlenratio=2.0),
    "single_attn": dict(input_ids=ids[:1], speaker_embeddings=speakers[:1], threshold=1.1, maxlenratio=1.5,
                        output_cross_attentions=True),
    "batch": dict(input_ids=ids, attention_mask=mask, speaker_embeddings=speakers, threshold=1.1, maxlenratio=3.0,
                  minlenratio=0.5),
    "batch_lengths": dict(input_ids=ids, attention_mask=mask, speaker_embeddings=speakers[:1], threshold=1.1,
                          maxlenratio=3.0, return_output_lengths=True, output_cross_attentions=True),
    "batch_vocoder": dict(input_ids=ids, attention_mask=mask, speaker_embeddings=speakers, threshold=1.1,
                          maxlenratio=3.0, return_output_lengths=True, vocoder="flatten"),
}
with torch.no_grad():
    for name, kwargs in variants.items():
        call = dict(kwargs)
        if call.get("vocoder") == "flatten":  # a stand-in vocoder: each frame's bins as samples
            call["vocoder"] = lambda spectrogram: spectrogram.flatten(1)
        result = tts.generate_speech(**call)
        result = result if isinstance(result, tuple) else (result,)
        stored = []
        for i, item in enumerate(result):
            stored.append(item if isinstance(item, list) else {"array": put(f"{name}_{i}", item)})
        call = {k: (v if not isinstance(v, torch.Tensor) else {"input": k if k != "speaker_embeddings" else "speakers",
                                                                "rows": int(v.shape[0])}) for k, v in kwargs.items()}
        cases[name] = {"call": call, "result": stored}
    dropout = SpeechT5ForTextToSpeech.from_pretrained(models / "SpeechT5ForTextToSpeech",
                                                      speech_decoder_prenet_dropout=0.5).eval()
    frames = torch.from_numpy(inputs["decoder_input_values"])
    torch.manual_seed(1234)
    spectrogram = dropout(input_ids=ids, attention_mask=mask, decoder_input_values=frames,
                          speaker_embeddings=speakers).spectrogram
    put("dropout_decoder_input_values", frames), put("dropout_spectrogram_seed1234", spectrogram)
    # the training loss: L1 + stop-token BCE + guided attention, labels padded with -100 (whole frames)
    labels = torch.from_numpy(np.random.default_rng(3).normal(size=(2, 8, 8)).astype(np.float32))
    labels[1, 6:] = -100.0
    put("tts_labels", labels)
    put("tts_loss", tts(input_ids=ids, attention_mask=mask, labels=labels, speaker_embeddings=speakers).loss)

s2t = SpeechT5ForSpeechToText.from_pretrained(models / "SpeechT5ForSpeechToText").eval()
inputs = dict(np.load(models / "SpeechT5ForSpeechToText" / "inputs.npz"))
values, mask = torch.from_numpy(inputs["input_values"]), torch.from_numpy(inputs["attention_mask"])
put("s2t_input_values", values), put("s2t_attention_mask", mask)
with torch.no_grad():
    for name, kwargs in {"greedy": dict(max_new_tokens=8), "beam": dict(max_new_tokens=8, num_beams=3)}.items():
        tokens = s2t.generate(input_values=values, attention_mask=mask, do_sample=False, **kwargs)
        cases[f"s2t_{name}"] = {"call": kwargs, "tokens": put(f"s2t_{name}", tokens)}

    labels = torch.tensor([[5, 17, 2, -100], [9, 9, 30, 2]])  # -100: ignored by the loss
    put("s2t_labels", labels)
    put("s2t_loss", s2t(input_values=values, attention_mask=mask, labels=labels).loss)

np.savez_compressed(target / "reference.npz", **arrays)
(target / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
print(json.dumps(cases, indent=1))
