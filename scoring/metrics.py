"""GLUE's metrics, and a user task's (macro F1, Pearson's r), over a whole dev set."""

import warnings

import numpy as np
import pandas as pd
from sklearn import metrics as sk_metrics


def glue_metrics(task, labels, outputs):
    """Scores model outputs on a whole dev set (not averaged over batches, unlike the original).

    Args:
        task: a `Task`.
        labels: [n] label ids (int) or, for regression, gold scores.
        outputs: [n, num_labels] class probabilities, or [n] / [n, 1] predicted scores.

    Returns:
        For classification "accuracy", plus "f1" (positive class: the second label, "1" in
        GLUE) where the task's metric is F1, "macro_f1" (F1 averaged over the classes, each
        counted alike) where it is macro F1, and "mcc" where it is Matthews' correlation;
        for regression "pearson" and "spearman".
    """
    labels = np.asarray(labels)
    outputs = np.asarray(outputs)
    n = len(labels)
    if task.is_regression:
        if outputs.size != n or outputs.shape[0] != n:
            raise ValueError(f"expected {n} scores, got outputs of shape {outputs.shape}")
        gold, predicted = labels.astype(np.float64), outputs.reshape(n).astype(np.float64)
        return {"pearson": _pearson(gold, predicted),
                "spearman": _pearson(_ranks(gold), _ranks(predicted))}
    if outputs.shape != (n, task.num_labels):
        raise ValueError(f"expected outputs of shape {(n, task.num_labels)}, got {outputs.shape}")
    predictions = outputs.argmax(axis=-1)
    result = {"accuracy": float(np.mean(predictions == labels))}
    if task.metric in ("f1", "mcc"):
        _note_if_undefined(task, labels)
    # scikit-learn's warnings here are about its confusion matrix's shape when a dev set or the
    # predictions have one class; what that means for the metric is the note above.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task.metric == "f1":
            result["f1"] = float(sk_metrics.f1_score(labels, predictions, pos_label=1,
                                                     zero_division=0))
        elif task.metric == "macro_f1":
            # Over the classes in the gold labels or the predictions (scikit-learn's and
            # Hugging Face's evaluate's): a class absent from both has no F1 to average.
            result["macro_f1"] = float(sk_metrics.f1_score(labels, predictions, average="macro",
                                                           zero_division=0))
        elif task.metric == "mcc":
            result["mcc"] = float(sk_metrics.matthews_corrcoef(labels, predictions))
    return result


def _note_if_undefined(task, labels):
    """Warns (main.py logs it as one line) where the dev set leaves the task's metric undefined."""
    present = [task.labels[i] for i in np.unique(labels)]
    if task.metric == "mcc" and len(present) == 1:
        warnings.warn(f"every dev example has label {present[0]}: Matthews' correlation is "
                      "undefined on such a set and is scored 0", stacklevel=3)
    elif task.metric == "f1" and task.labels[1] not in present:
        warnings.warn(f"no dev example has label {task.labels[1]}: F1 is undefined on such a set "
                      "and is scored 0", stacklevel=3)


def _pearson(x, y):
    x, y = x - x.mean(), y - y.mean()
    norm = np.sqrt(np.sum(x * x) * np.sum(y * y))
    # Constant predictions (early in training) have no defined correlation; score them 0,
    # as scikit-learn does for MCC, so that picking the best epoch still compares numbers.
    return float(np.sum(x * y) / norm) if norm > 0 else 0.0


def _ranks(values):
    """Ranks with ties given their average rank, as Spearman's correlation needs."""
    return pd.Series(values).rank(method="average").to_numpy()


def primary_metric(task, metrics):
    """The value that picks the best epoch: the task's GLUE metric from `glue_metrics`.

    Args:
        task: a `Task`.
        metrics: the dict `glue_metrics` returned.
    """
    return metrics[task.metric]


def original_validation_metric(task, metrics):
    """The dev metric the original logs per epoch: accuracy as a fraction, Pearson's r for STS-B.

    Args:
        task: a `Task`.
        metrics: the `glue_metrics` of one epoch.
    """
    return metrics["pearson" if task.is_regression else "accuracy"]

