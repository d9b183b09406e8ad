"""Running a model over a whole split: predictions, loss and the GLUE metrics."""

import keras
import numpy as np
import tensorflow as tf

from training.metrics import glue_metrics


def model_inputs(features):
    """The model's three inputs from `data.features.Features`."""
    return [features.token_ids, features.segment_ids, features.input_mask]


def predict_batches(model, features, batch_size, verbose=0):
    """Yields the outputs of each batch in turn: class probabilities (b, num_labels), or scores (b, 1).

    Runs on this process alone, outside any tf.distribute split, so that every worker of a
    distributed run scores the whole split. The last batch is padded to full size, so the
    forward pass is traced once, on the first batch.
    """
    forward = tf.function(lambda inputs: model(inputs, training=False))
    inputs, n = model_inputs(features), len(features)
    progress = keras.utils.Progbar(n) if verbose else None
    for start in range(0, n, batch_size):
        batch = [x[start:start + batch_size] for x in inputs]
        size = len(batch[0])
        # Padding rows: all [PAD] with an all-zero mask; their outputs are dropped.
        batch = [np.pad(x, ((0, batch_size - size), (0, 0))) for x in batch]
        yield np.asarray(forward(batch))[:size]
        if progress:
            progress.add(size)


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
