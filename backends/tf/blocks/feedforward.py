"""The decoders' feed-forward blocks in TensorFlow: a gated MLP (gate_proj/up_proj/down_proj, or Phi-3's
fused gate_up_proj) and a sparse mixture of such experts (Mixtral's block_sparse_moe)."""

from __future__ import annotations

import tensorflow as tf

from autoload.decoder_options import DecoderOptions

from ..activations import get_activation
from ..modeling import Layer, dense


class TFGatedMLP(Layer):
    """down(act(gate(x)) * up(x)); returns (output, None) like the mixture of experts."""

    def __init__(self, options: DecoderOptions, config, **kwargs):
        super().__init__(**kwargs)
        o, bias = options, options.mlp_bias
        self.fused = o.fused_gate_up
        if self.fused:
            self.gate_up_proj = dense(config, 2 * o.intermediate_size, "gate_up_proj", use_bias=bias)
        else:
            self.gate_proj = dense(config, o.intermediate_size, "gate_proj", use_bias=bias)
            self.up_proj = dense(config, o.intermediate_size, "up_proj", use_bias=bias)
        self.down_proj = dense(config, o.hidden_size, "down_proj", use_bias=bias)
        self.act = get_activation(o.activation)
        self.sizes = {**dict.fromkeys([self.gate_up_proj] if self.fused else [self.gate_proj, self.up_proj],
                                      o.hidden_size), self.down_proj: o.intermediate_size}  # fmt: skip

    def input_sizes(self):
        return self.sizes

    def call(self, x, training=False):
        if self.fused:
            gate, up = tf.split(self.gate_up_proj(x), 2, axis=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        return self.down_proj(self.act(gate) * up), None


class TFExpert(Layer):
    def __init__(self, options: DecoderOptions, config, **kwargs):
        super().__init__(**kwargs)
        self.w1 = dense(config, options.intermediate_size, "w1", use_bias=False)
        self.w2 = dense(config, options.hidden_size, "w2", use_bias=False)
        self.w3 = dense(config, options.intermediate_size, "w3", use_bias=False)
        self.act = get_activation(options.activation)
        self.sizes = {self.w1: options.hidden_size, self.w3: options.hidden_size, self.w2: options.intermediate_size}

    def input_sizes(self):
        return self.sizes

    def call(self, x):
        return self.w2(self.act(self.w1(x)) * self.w3(x))


class TFSparseMoe(Layer):
    """Each token goes to its top_k experts by router score, outputs weighted by the softmax scores
    renormalised over the chosen ones. Eagerly only the chosen experts run, on their tokens; in a graph
    (tf.function, SavedModel) every expert runs on every token and unchosen ones get weight 0."""

    def __init__(self, options: DecoderOptions, config, **kwargs):
        super().__init__(**kwargs)
        self.moe = options.moe
        self.gate = dense(config, self.moe.num_experts, "gate", use_bias=False)
        self.experts = [TFExpert(options, config, name=f"experts_._{i}") for i in range(self.moe.num_experts)]
        self._experts_built = False
        self.hidden_size = options.hidden_size

    def input_sizes(self):
        return {self.gate: self.hidden_size, **dict.fromkeys(self.experts)}

    def build(self, input_shape=None):
        super().build(input_shape)
        self._experts_built = all(layer.built for expert in self.experts for layer in (expert.w1, expert.w2, expert.w3))

    def call(self, hidden, training=False):
        shape = tf.shape(hidden)
        if training and self.moe.jitter_noise > 0:
            noise = self.moe.jitter_noise
            hidden = hidden * tf.random.uniform(shape, 1.0 - noise, 1.0 + noise, dtype=hidden.dtype)
        flat = tf.reshape(hidden, (-1, hidden.shape[-1]))
        router_logits = self.gate(flat)
        probs = tf.nn.softmax(tf.cast(router_logits, tf.float32), axis=-1)
        weights, chosen = tf.math.top_k(probs, self.moe.top_k)
        weights = tf.cast(weights / tf.reduce_sum(weights, axis=-1, keepdims=True), flat.dtype)
        if tf.executing_eagerly():
            if not self._experts_built:  # variables for every expert, not only the ones the first call picks
                for expert in self.experts:
                    expert(flat[:0])
                self._experts_built = True
            out = tf.zeros_like(flat)
            for expert in sorted(set(chosen.numpy().ravel().tolist())):
                where = tf.where(chosen == expert)  # [n, 2]: (token, slot)
                tokens = where[:, 0]
                contribution = self.experts[expert](tf.gather(flat, tokens)) * tf.gather_nd(weights, where)[:, None]
                out = tf.tensor_scatter_nd_add(out, tokens[:, None], contribution)
        else:
            one_hot = tf.one_hot(chosen, self.moe.num_experts, dtype=flat.dtype)
            per_expert = tf.reduce_sum(one_hot * weights[..., None], 1)
            out = tf.add_n([expert(flat) * per_expert[:, i : i + 1] for i, expert in enumerate(self.experts)])
        return tf.reshape(out, shape), router_logits


def load_balancing_loss(router_logits, num_experts: int, top_k: int, attention_mask=None):
    """Switch-Transformer auxiliary loss (see the PyTorch block): num_experts × Σ_e routed share × mean prob."""
    probs = tf.nn.softmax(tf.cast(tf.concat(list(router_logits), axis=0), tf.float32), axis=-1)
    chosen = tf.one_hot(tf.math.top_k(probs, top_k).indices, num_experts)
    if attention_mask is None:
        routed, mean_prob = tf.reduce_mean(chosen, 0), tf.reduce_mean(probs, 0)
    else:
        keep = tf.tile(tf.reshape(tf.cast(attention_mask, tf.float32), [-1]), [len(router_logits)])
        total = tf.reduce_sum(keep)
        routed = tf.reduce_sum(chosen * keep[:, None, None], 0) / total
        mean_prob = tf.reduce_sum(probs * keep[:, None], 0) / total
    return tf.reduce_sum(routed * mean_prob[None]) * num_experts
