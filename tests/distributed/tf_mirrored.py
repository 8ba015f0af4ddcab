"""Run by tests/test_tf_distribution.py in its own process: two logical CPU devices, a model loaded inside
tf.distribute.MirroredStrategy().scope() has mirrored variables holding the checkpoint on both replicas, gives the
reference outputs, and fit() trains it (Llama) under the strategy with the replicas kept equal.

usage: python tf_mirrored.py FIXTURES_MODELS_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tensorflow.python.distribute.values import MirroredVariable  # noqa: E402

from autoload import TFAutoModelForSequenceClassification  # noqa: E402
from autoload.weights import SafetensorsReader  # noqa: E402

MODELS = Path(sys.argv[1])
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2

for family, head in (("llama", "LlamaForSequenceClassification"), ("bert", "BertForSequenceClassification")):
    folder = MODELS / family / head
    inputs = dict(np.load(folder / "inputs.npz"))
    expected = np.load(folder / "expected.npz")["logits"]
    with strategy.scope():
        model = TFAutoModelForSequenceClassification.from_pretrained(folder)
    variables = [v.value for v in model.weights]
    assert variables and all(isinstance(v, MirroredVariable) for v in variables), {type(v) for v in variables}
    checkpoint = SafetensorsReader(folder / "model.safetensors")
    embeddings = next(v for v in model.weights if "embed" in v.path and v.shape[0] == model.config.vocab_size)
    replicas = [np.asarray(r) for r in embeddings.value.values]
    assert [r.device for r in embeddings.value.values] == ["/job:localhost/replica:0/task:0/device:CPU:0",
                                                           "/job:localhost/replica:0/task:0/device:CPU:1"]
    stored = next(checkpoint[k] for k in checkpoint if "embed" in k and checkpoint.shape(k)[0] == model.config.vocab_size)
    for replica in replicas:
        np.testing.assert_array_equal(replica, stored)
    np.testing.assert_allclose(model(inputs).logits.numpy(), expected, atol=1e-4)

    if family != "llama":  # one fit is enough to show training under the strategy
        print("ok", family)
        continue
    batch = {**inputs, "labels": np.array([0, 2])}
    with strategy.scope():
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(batch, epochs=3, batch_size=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0], history.history
    trained = [np.asarray(r) for r in embeddings.value.values]
    np.testing.assert_array_equal(trained[0], trained[1])  # both replicas took the same (all-reduced) steps
    assert not np.array_equal(trained[0], stored)
    print("ok", family)
