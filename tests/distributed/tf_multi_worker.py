"""Run by tests/test_tf_distribution.py as each of two worker processes (TF_CONFIG names both on localhost ports and
this worker's index): a model loaded inside tf.distribute.MultiWorkerMirroredStrategy().scope() holds the checkpoint
in distributed variables, gives the reference logits, and training steps run with the workers' gradients all-reduced.
Prints the trained weights' checksum so the test can check that both workers hold the same model.

usage: python tf_multi_worker.py FIXTURES_MODELS_DIR
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import tensorflow as tf

strategy = tf.distribute.MultiWorkerMirroredStrategy()  # before any other TensorFlow op, as TF requires

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tensorflow.python.distribute.values import DistributedVariable  # noqa: E402

from autoload import TFAutoModelForSequenceClassification  # noqa: E402
from autoload.weights import SafetensorsReader  # noqa: E402

folder = Path(sys.argv[1]) / "llama" / "LlamaForSequenceClassification"
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
inputs = dict(np.load(folder / "inputs.npz"))
expected = np.load(folder / "expected.npz")["logits"]
with strategy.scope():
    model = TFAutoModelForSequenceClassification.from_pretrained(folder)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
variables = [v.value for v in model.weights]
assert variables and all(isinstance(v, DistributedVariable) for v in variables), {type(v) for v in variables}
checkpoint = SafetensorsReader(folder / "model.safetensors")
embeddings = next(v for v in model.weights if "embed" in v.path and v.shape[0] == model.config.vocab_size)
stored = next(checkpoint[k] for k in checkpoint if "embed" in k and checkpoint.shape(k)[0] == model.config.vocab_size)
np.testing.assert_array_equal(np.asarray(embeddings.value), stored)
np.testing.assert_allclose(model(inputs).logits.numpy(), expected, atol=1e-4)

# Keras 3's fit() fails under a multi-worker MultiWorkerMirroredStrategy before its first step, for any model
# (keras-team/keras#20585: its symbolic build reduces a nested batch, which this strategy cannot), so the steps run
# as tf.distribute's own training loop: each worker its half of the batch, gradients all-reduced by the optimizer.
rows = {k: np.concatenate([v, v]) for k, v in inputs.items()}
rows["labels"] = np.array([0, 2, 0, 2])
dataset = tf.data.Dataset.from_tensor_slices(rows).batch(4).repeat()  # global batch 4, 2 rows per worker
batches = iter(strategy.experimental_distribute_dataset(dataset))


@tf.function
def train_step(batch):
    def replica_step(rows):
        with tf.GradientTape() as tape:
            loss = model(rows, training=True).loss / strategy.num_replicas_in_sync
        variables = model.trainable_variables
        model.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return strategy.reduce("SUM", strategy.run(replica_step, args=(batch,)), axis=None)


losses = [float(train_step(next(batches))) for _ in range(3)]
assert losses[-1] < losses[0], losses
trained = np.asarray(embeddings.value)
assert not np.array_equal(trained, stored)
print("checksum", repr(float(sum(np.sum(np.asarray(w.value, dtype=np.float64)) for w in model.trainable_variables))))
print("ok worker", losses, flush=True)
# Every check has run and its result is printed: leave without TensorFlow's teardown of the cluster (~4 s per worker),
# but only once both workers are here. A worker whose last collective has returned may still be serving its share to
# the other, which would see "Socket closed" if it left at once.
finished = Path(os.environ["WORKERS_FINISHED_DIR"])
(finished / f"worker-{json.loads(os.environ['TF_CONFIG'])['task']['index']}").touch()
deadline = time.monotonic() + 120
while len(list(finished.iterdir())) < strategy.num_replicas_in_sync and time.monotonic() < deadline:
    time.sleep(0.05)
sys.stderr.flush()
os._exit(0)
