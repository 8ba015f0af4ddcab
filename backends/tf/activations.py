import math

import tensorflow as tf


def gelu_new(x):
    return 0.5 * x * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3.0))))


ACTIVATIONS = {
    "gelu": lambda x: tf.nn.gelu(x, approximate=False),
    "gelu_new": gelu_new,
    "gelu_fast": lambda x: tf.nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: tf.nn.gelu(x, approximate=True),
    "quick_gelu": lambda x: x * tf.sigmoid(1.702 * x),
    "relu": tf.nn.relu,
    "silu": tf.nn.silu,
    "swish": tf.nn.silu,
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "gelu_10": lambda x: tf.clip_by_value(tf.nn.gelu(x, approximate=False), -10.0, 10.0),
    "gelu_python": lambda x: tf.nn.gelu(x, approximate=False),
    "gelu_python_tanh": gelu_new,
    "gelu_accurate": gelu_new,
    "laplace": lambda x: 0.5 * (1.0 + tf.math.erf((x - 0.707107) / (0.282095 * math.sqrt(2.0)))),
    "leaky_relu": lambda x: tf.nn.leaky_relu(x, alpha=0.01),
    "linear": tf.identity,
    "mish": lambda x: x * tf.tanh(tf.math.softplus(x)),
    "relu2": lambda x: tf.square(tf.nn.relu(x)),
    "relu6": tf.nn.relu6,
}


def get_activation(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown activation {name!r}; supported: {', '.join(ACTIVATIONS)}.") from None
