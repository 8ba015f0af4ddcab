"""Losses the TF task heads compute when labels are passed (same conventions as the PyTorch heads)."""

import tensorflow as tf


def token_loss(logits, labels):
    """Mean cross entropy over positions whose label is not -100."""
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    logits = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
    keep = labels != -100
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.where(keep, labels, 0), logits)
    return tf.reduce_sum(tf.where(keep, losses, 0.0)) / tf.maximum(tf.reduce_sum(tf.cast(keep, losses.dtype)), 1.0)


def sequence_classification_loss(logits, labels, config):
    num_labels = logits.shape[-1]
    problem = config.problem_type
    if problem is None:
        if num_labels == 1:
            problem = "regression"
        elif labels.dtype.is_integer:
            problem = "single_label_classification"
        else:
            problem = "multi_label_classification"
    if problem == "regression":
        return tf.reduce_mean(tf.square(tf.squeeze(logits) - tf.squeeze(tf.cast(labels, logits.dtype))))
    if problem == "single_label_classification":
        return token_loss(logits, labels)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.cast(labels, logits.dtype), logits))


def span_loss(start_logits, end_logits, start_positions, end_positions):
    return (token_loss(start_logits, start_positions) + token_loss(end_logits, end_positions)) / 2
