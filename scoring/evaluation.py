"""Running a model over a whole split: predictions, loss and the GLUE metrics."""

import weakref

import keras
import numpy as np
import tensorflow as tf

from data.batches import in_input_order, inference_batches
from modeling.bert import input_signature
from scoring.metrics import glue_metrics


def predict_batches(model, features, batch_size, padding, verbose=0):
    """Yields (rows, outputs) per batch: class probabilities (b, num_labels), or scores (b, 1).

    With `padding` "batch", rows of similar length run together, each batch padded to its
    longest row; with "seq_len", rows run in input order, padded to seq_len. The forward
    pass is traced once, for any batch shape. A model built under MirroredStrategy splits
    each batch over the replicas; any other model runs on this process alone, so that every
    worker of a multi-worker run scores the whole split.

    Args:
        model: from `modeling.bert.build_model`.
        features: `data.features.Features`.
        batch_size: rows per batch.
        padding: "batch" or "seq_len".
        verbose: show a progress bar.
    """
    forward = _forward_function(model, batch_size)
    progress = keras.utils.Progbar(len(features)) if verbose else None
    for rows in inference_batches(features.lengths, batch_size, padding):
        yield rows, forward(features.batch(rows, padding))
        if progress:
            progress.add(len(rows))


# One traced forward pass per model and batch size, for as long as the model lives: training
# scores the dev set after every epoch, and would otherwise trace the forward pass anew each
# time.
_FORWARD_FUNCTIONS = weakref.WeakKeyDictionary()


def _forward_function(model, batch_size):
    """function(list of three (b <= batch_size, n) arrays) -> outputs as one NumPy array."""
    per_batch_size = _FORWARD_FUNCTIONS.setdefault(model, {})
    if batch_size not in per_batch_size:
        # The functions reach the model through a weak reference, so that the cache does not
        # keep it alive.
        per_batch_size[batch_size] = _new_forward_function(weakref.ref(model), batch_size)
    return per_batch_size[batch_size]


def _new_forward_function(model_ref, batch_size):
    strategy = model_ref().distribute_strategy
    if not isinstance(strategy, tf.distribute.MirroredStrategy) or \
            strategy.num_replicas_in_sync == 1:
        forward = tf.function(lambda inputs: model_ref()(inputs, training=False),
                              input_signature=input_signature())
        return lambda batch: np.asarray(forward(batch))

    replicas = strategy.num_replicas_in_sync
    share = -(-batch_size // replicas)  # rows per replica; the last replica's share is padded
    # reduce_retracing: after a second width, one trace serves every batch width.
    forward = tf.function(lambda inputs: strategy.run(
        lambda x: model_ref()(x, training=False), args=(inputs,)), reduce_retracing=True)

    def split_forward(batch):
        size = len(batch[0])
        # Padding rows: all [PAD] with an all-zero mask; their outputs are dropped.
        batch = [np.pad(x, ((0, share * replicas - size), (0, 0))) for x in batch]
        def replica_share(context):
            start = context.replica_id_in_sync_group * share
            return [x[start:start + share] for x in batch]

        per_replica = strategy.experimental_distribute_values_from_function(replica_share)
        outputs = strategy.experimental_local_results(forward(per_replica))
        return np.concatenate([np.asarray(part) for part in outputs])[:size]

    return split_forward


def predict(model, features, batch_size, padding, verbose=0):
    """Class probabilities (n, num_labels), or scores (n, 1), for every example in order."""
    return in_input_order(predict_batches(model, features, batch_size, padding, verbose))


def loss(task, labels, outputs):
    """The training loss over the whole split: cross-entropy, or mean squared error."""
    if task.is_regression:
        return float(np.mean((outputs[:, 0] - labels) ** 2))
    # Keras clips probabilities the same way in sparse_categorical_crossentropy.
    chosen = np.clip(outputs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.mean(np.log(chosen)))


def evaluate(model, task, features, labels, batch_size, padding, verbose=0):
    """Loss and GLUE metrics of a model on a labelled split (`padding` as for `predict`).

    Returns:
        {"loss": ..., "accuracy": ..., "f1"/"mcc"/"pearson"/"spearman": ...}.
    """
    outputs = predict(model, features, batch_size, padding, verbose)
    return {"loss": loss(task, labels, outputs), **glue_metrics(task, labels, outputs)}


def format_metrics(metrics):
    """"loss 0.4123, accuracy 84.31, f1 88.90": metrics other than loss in percent."""
    return ", ".join(f"{name} {value:.4f}" if name == "loss" else f"{name} {100 * value:.2f}"
                     for name, value in metrics.items())
