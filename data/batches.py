"""Which rows form each batch: in input order, or grouped by length to cut padding.

A batch padded to its longest row costs what its longest row costs, so rows of similar
length belong together. Inference can sort freely (outputs go back to input order);
training groups as Hugging Face's `group_by_length` does: sorted within megabatches of 50
batches of a random permutation, so that batches stay random, then the batches shuffled.
"""

import numpy as np

# Hugging Face's LengthGroupedSampler sorts within 50 batches' worth of a permutation.
_MEGABATCH = 50


def inference_batches(lengths, batch_size, padding):
    """The rows of each inference batch.

    Args:
        lengths: (n,) real lengths of the rows.
        batch_size: rows per batch.
        padding: "batch": rows sorted by length, so that each batch pads little;
            "seq_len": rows in input order (every batch is padded to seq_len anyway).

    Returns:
        A list of int arrays that together hold every row once.
    """
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable") if padding == "batch" else \
        np.arange(len(lengths))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def in_input_order(batches):
    """Joins (rows, outputs) per batch, as `inference_batches` ordered the rows, into one
    array of outputs in the rows' own order."""
    batches = list(batches)
    rows = np.concatenate([rows for rows, _ in batches])
    outputs = np.concatenate([outputs for _, outputs in batches])
    return outputs[np.argsort(rows)]


def training_order(lengths, batch_size, epochs, group_by_length, seed):
    """The rows of every training step, epoch after epoch, as one (epochs, n) array.

    Consecutive `batch_size` rows of an epoch form a step; the last step of an epoch may be
    shorter. Without grouping, an epoch is a random permutation (the original's random
    batches). With grouping, each batch holds rows of similar length, and the full batches
    come in random order, the short one last.

    Args:
        lengths: (n,) real lengths of the training rows.
        batch_size: rows per step.
        epochs: number of epochs.
        group_by_length: group rows of similar length into batches.
        seed: the NumPy seed of the permutations.
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    rng = np.random.default_rng(seed)
    epochs_order = []
    for _ in range(epochs):
        order = rng.permutation(n)
        if group_by_length:
            mega = _MEGABATCH * batch_size
            order = np.concatenate([
                part[np.argsort(-lengths[part], kind="stable")]
                for part in np.split(order, range(mega, n, mega))])
            full = n // batch_size
            batches = order[:full * batch_size].reshape(full, batch_size)
            order = np.concatenate([batches[rng.permutation(full)].ravel(),
                                    order[full * batch_size:]])
        epochs_order.append(order)
    return np.stack(epochs_order)


def chunked(rows, size):
    """Lists of `size` consecutive rows of an iterable (the last one shorter), read as needed.

    Args:
        rows: any iterable, e.g. a file's examples as they are read.
        size: rows per list.
    """
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
