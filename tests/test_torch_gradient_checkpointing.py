"""Gradient checkpointing in PyTorch: the repeated blocks recompute their activations in the backward pass,
and training gets the gradients it gets without (dropout masks included)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import MODELS, fixture_model_class, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload.backends.torch import checkpointing  # noqa: E402

CASES = ["bert/BertForMaskedLM", "llama/LlamaForCausalLM", "t5/T5ForConditionalGeneration", "wav2vec2/Wav2Vec2ForCTC",
         "mixtral/MixtralForCausalLM"]  # fmt: skip


def train_step(model, inputs: dict):
    """(loss, gradients) of one training step under fixed seeds: the same dropout masks (torch) and SpecAugment
    masks (numpy's global generator, as transformers draws them)."""
    torch.manual_seed(0)
    np.random.seed(0)
    model.train()
    first = model(**inputs)[0]
    loss = (first.float() ** 2).mean()
    loss.backward()
    gradients = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    return float(loss), gradients


@pytest.mark.parametrize("folder", CASES)
def test_checkpointed_blocks_recompute_and_give_the_same_gradients(folder):
    meta, arrays, _ = read_fixture(MODELS / folder)
    model = fixture_model_class(meta, "torch").from_pretrained(MODELS / folder)
    inputs = {k: torch.from_numpy(v) for k, v in arrays.items()}
    blocks = checkpointing.repeated_blocks(model)
    inner = next(blocks[0].children())  # a block's own call is not repeated, its children's calls are
    calls = []
    inner.register_forward_hook(lambda *_: calls.append(1))
    plain_loss, plain = train_step(model, inputs)
    plain_calls, calls[:] = len(calls), []
    assert not model.is_gradient_checkpointing
    model.gradient_checkpointing_enable()
    assert model.is_gradient_checkpointing
    loss, gradients = train_step(model, inputs)
    assert len(calls) == 2 * plain_calls  # the forward pass and its recomputation
    assert loss == pytest.approx(plain_loss, rel=1e-6) and gradients.keys() == plain.keys()
    for name, gradient in gradients.items():
        np.testing.assert_allclose(gradient.numpy(), plain[name].numpy(), atol=1e-6, err_msg=name)
    calls[:] = []
    model.eval()
    with torch.no_grad():
        model(**inputs)
    assert len(calls) == plain_calls  # not training: the blocks' own forward, once
    model.gradient_checkpointing_disable()
    assert not model.is_gradient_checkpointing


def test_checkpointing_frozen_embeddings_still_trains_the_layers():
    """The non-reentrant default: blocks whose inputs need no gradient (frozen embeddings, as adapters train)."""
    model = autoload.AutoModelForCausalLM.from_pretrained(MODELS / "llama" / "LlamaForCausalLM")
    model.get_input_embeddings().weight.requires_grad_(False)
    model.gradient_checkpointing_enable()
    _, gradients = train_step(model, {"input_ids": torch.tensor([[3, 5, 7, 9]])})
    assert any(name.startswith("model.layers.0.") for name in gradients)


def test_a_model_without_repeated_blocks_is_refused():
    from autoload.backends.torch.modeling import PreTrainedModel

    class Single(PreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            self.proj = torch.nn.Linear(2, 2)

    with pytest.raises(ValueError, match="Single has no repeated blocks"):
        Single(autoload.PretrainedConfig()).gradient_checkpointing_enable()


def test_seq2seq_fine_tuning_end_to_end():
    """resize_token_embeddings to the tokenizer, DataCollatorForSeq2Seq (labels padded with -100), checkpointed
    training steps: the loss falls, and the padded label positions count for nothing."""
    from conftest import FIXTURES

    tokenizer = autoload.AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / "t5")
    model = autoload.AutoModelForSeq2SeqLM.from_pretrained(MODELS / "t5" / "T5ForConditionalGeneration")
    model.resize_token_embeddings(len(tokenizer))
    model.gradient_checkpointing_enable()
    pairs = [("translate: good morning", "bonjour"), ("translate: thank you very much", "merci beaucoup"),
             ("translate: yes", "oui"), ("translate: see you tomorrow", "a demain")]  # fmt: skip
    features = [dict(tokenizer(source), labels=tokenizer(text_target=target)["input_ids"]) for source, target in pairs]
    batch = autoload.DataCollatorForSeq2Seq(tokenizer, return_tensors="pt")(features)
    assert (batch["labels"] == -100).any()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(6):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    model.eval()
    with torch.no_grad():
        trimmed = {**batch, "labels": batch["labels"][:2, :2], "attention_mask": batch["attention_mask"][:2],
                   "input_ids": batch["input_ids"][:2]}  # fmt: skip
        padded = {**trimmed, "labels": torch.cat([trimmed["labels"], torch.full((2, 3), -100)], dim=1)}
        assert float(model(**padded).loss) == pytest.approx(float(model(**trimmed).loss), rel=1e-5)
