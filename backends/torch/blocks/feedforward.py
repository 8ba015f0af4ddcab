"""The decoders' feed-forward blocks: a gated MLP (gate_proj/up_proj/down_proj, or Phi-3's fused
gate_up_proj) and a sparse mixture of such experts (Mixtral's block_sparse_moe: gate + experts.N.w1/w2/w3)."""

from __future__ import annotations

import torch
from torch import nn

from autoload.decoder_options import DecoderOptions

from ..activations import get_activation


class GatedMLP(nn.Module):
    """down(act(gate(x)) * up(x)); returns (output, None) like the mixture of experts."""

    def __init__(self, options: DecoderOptions):
        super().__init__()
        o, bias = options, options.mlp_bias
        self.fused = o.fused_gate_up
        if self.fused:
            self.gate_up_proj = nn.Linear(o.hidden_size, 2 * o.intermediate_size, bias=bias)
        else:
            self.gate_proj = nn.Linear(o.hidden_size, o.intermediate_size, bias=bias)
            self.up_proj = nn.Linear(o.hidden_size, o.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(o.intermediate_size, o.hidden_size, bias=bias)
        self.act = get_activation(o.activation)

    def forward(self, x):
        if self.fused:
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        return self.down_proj(self.act(gate) * up), None


class Expert(nn.Module):
    def __init__(self, options: DecoderOptions):
        super().__init__()
        self.w1 = nn.Linear(options.hidden_size, options.intermediate_size, bias=False)
        self.w2 = nn.Linear(options.intermediate_size, options.hidden_size, bias=False)
        self.w3 = nn.Linear(options.hidden_size, options.intermediate_size, bias=False)
        self.act = get_activation(options.activation)

    def forward(self, x):
        return self.w2(self.act(self.w1(x)) * self.w3(x))


class SparseMoe(nn.Module):
    """Each token goes to its top_k experts by router score; their outputs are summed, weighted by the
    softmax scores renormalised over the chosen ones. Only experts some token chose run, on those tokens."""

    def __init__(self, options: DecoderOptions):
        super().__init__()
        self.moe = options.moe
        self.gate = nn.Linear(options.hidden_size, self.moe.num_experts, bias=False)
        self.experts = nn.ModuleList(Expert(options) for _ in range(self.moe.num_experts))

    def forward(self, hidden):
        batch, length, width = hidden.shape
        if self.training and self.moe.jitter_noise > 0:
            noise = self.moe.jitter_noise
            hidden = hidden * torch.empty_like(hidden).uniform_(1.0 - noise, 1.0 + noise)
        flat = hidden.reshape(-1, width)
        router_logits = self.gate(flat)
        weights, chosen = torch.topk(nn.functional.softmax(router_logits, dim=-1, dtype=torch.float), self.moe.top_k)
        weights = (weights / weights.sum(dim=-1, keepdim=True)).to(flat.dtype)
        out = torch.zeros_like(flat)
        for expert in chosen.unique().tolist():
            tokens, slot = torch.where(chosen == expert)
            out.index_add_(0, tokens, self.experts[expert](flat[tokens]) * weights[tokens, slot, None])
        return out.reshape(batch, length, width), router_logits


def load_balancing_loss(router_logits: tuple[torch.Tensor, ...], num_experts: int, top_k: int,
                        attention_mask: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """Switch-Transformer auxiliary loss: num_experts × Σ_e (share of routed slots to e) × (mean router
    probability of e), over every layer's tokens (padding excluded when a mask is given)."""
    logits = torch.cat([layer.to(router_logits[0].device) for layer in router_logits], dim=0)
    probs = nn.functional.softmax(logits, dim=-1)
    chosen = nn.functional.one_hot(torch.topk(probs, top_k, dim=-1).indices, num_experts).float()
    if attention_mask is None:
        routed, mean_prob = chosen.mean(0), probs.mean(0)
    else:
        keep = attention_mask.to(logits.device, probs.dtype).reshape(-1).repeat(len(router_logits))
        routed = (chosen * keep[:, None, None]).sum(0) / keep.sum()
        mean_prob = (probs * keep[:, None]).sum(0) / keep.sum()
    return (routed * mean_prob[None]).sum() * num_experts
