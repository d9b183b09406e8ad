"""Running a model over a whole split: predictions, loss and the GLUE metrics."""

import keras
import numpy as np
import tensorflow as tf

from training.metrics import glue_metrics


def model_inputs(features):
    """The model's three inputs from `data.features.Features`."""
    return [features.token_ids, features.segment_ids, features.input_mask]


def predict_batches(model, features, batch_size, verbose=0):
    """Yields each batch's outputs: class probabilities (b, num_labels), or scores (b, 1).

    The last batch is padded to full size, so the forward pass is traced once, on the first
    batch. A model built under MirroredStrategy splits each batch over the replicas; any
    other model runs on this process alone, so that every worker of a multi-worker run
    scores the whole split.
    """
    forward = _forward_function(model, batch_size)
    inputs, n = model_inputs(features), len(features)
    progress = keras.utils.Progbar(n) if verbose else None
    for start in range(0, n, batch_size):
        batch = [x[start:start + batch_size] for x in inputs]
        size = len(batch[0])
        # Padding rows: all [PAD] with an all-zero mask; their outputs are dropped.
        batch = [np.pad(x, ((0, batch_size - size), (0, 0))) for x in batch]
        yield forward(batch)[:size]
        if progress:
            progress.add(size)


def _forward_function(model, batch_size):
    """function(list of (batch_size, seq_len) arrays) -> outputs as one NumPy array."""
    strategy = model.distribute_strategy
    if not isinstance(strategy, tf.distribute.MirroredStrategy) or \
            strategy.num_replicas_in_sync == 1:
        forward = tf.function(lambda inputs: model(inputs, training=False))
        return lambda batch: np.asarray(forward(batch))

    replicas = strategy.num_replicas_in_sync
    share = -(-batch_size // replicas)  # rows per replica; the last replica's share is padded
    forward = tf.function(lambda inputs: strategy.run(
        lambda x: model(x, training=False), args=(inputs,)))

    def split_forward(batch):
        batch = [np.pad(x, ((0, share * replicas - len(x)), (0, 0))) for x in batch]
        def replica_share(context):
            start = context.replica_id_in_sync_group * share
            return [x[start:start + share] for x in batch]

        per_replica = strategy.experimental_distribute_values_from_function(replica_share)
        outputs = strategy.experimental_local_results(forward(per_replica))
        return np.concatenate([np.asarray(part) for part in outputs])

    return split_forward


def predict(model, features, batch_size, verbose=0):
    """Class probabilities (n, num_labels), or scores (n, 1), for every example."""
    return np.concatenate(list(predict_batches(model, features, batch_size, verbose)))


def loss(task, labels, outputs):
    """The training loss over the whole split: cross-entropy, or mean squared error."""
    if task.is_regression:
        return float(np.mean((outputs[:, 0] - labels) ** 2))
    # Keras clips probabilities the same way in sparse_categorical_crossentropy.
    chosen = np.clip(outputs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.mean(np.log(chosen)))


def evaluate(model, task, features, labels, batch_size, verbose=0):
    """Loss and GLUE metrics of a model on a labelled split.

    Returns:
        {"loss": ..., "accuracy": ..., "f1"/"mcc"/"pearson"/"spearman": ...}.
    """
    outputs = predict(model, features, batch_size, verbose)
    return {"loss": loss(task, labels, outputs), **glue_metrics(task, labels, outputs)}


def format_metrics(metrics):
    """"loss 0.4123, accuracy 84.31, f1 88.90": metrics other than loss in percent."""
    return ", ".join(f"{name} {value:.4f}" if name == "loss" else f"{name} {100 * value:.2f}"
                     for name, value in metrics.items())
