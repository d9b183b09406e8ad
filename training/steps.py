"""The three training steps of PoWER-BERT: fine-tune, configuration search, re-train.

Weights go from step to step by layer name through the `.hdf5` files in OUTPUT_DIR:
`finetune.hdf5` (best epoch of step 1) -> `configuration_search_model.hdf5` (end of step 2)
-> `retrained.hdf5` (best epoch of step 3).
"""

import dataclasses
import math
import os

import keras
import numpy as np

from checkpoints.hdf5 import read_hdf5_weights, write_hdf5_weights
from checkpoints.assign import assign_weights
from extract_layers import derive_retention_configuration
from modeling.bert import build_model, soft_extract_layers
from modeling.flops import flop_reduction
from training.evaluation import evaluate, format_metrics, model_inputs
from training.metrics import primary_metric
from training.optimizer import PowerBertAdam, WarmupLinearDecay

FINETUNE = "finetune.hdf5"
SEARCH = "configuration_search_model.hdf5"
RETRAINED = "retrained.hdf5"


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """The training flags: EPOCH, BATCH_SIZE, LR_BERT, LR_SOFT_EXTRACT, LAMBDA."""

    epochs: int
    batch_size: int
    lr_bert: float
    lr_soft_extract: float
    lambda_: float


@dataclasses.dataclass(frozen=True)
class TaskData:
    """Encoded train and dev splits of a task."""

    train: object  # data.features.Features
    train_labels: np.ndarray
    dev: object
    dev_labels: np.ndarray


class BestEpoch(keras.callbacks.Callback):
    """After each epoch: scores the whole dev set, logs it, saves the model if it is the best.

    The best epoch is chosen by the task's GLUE metric (MCC for CoLA, F1 for MRPC/QQP,
    Spearman for STS-B, accuracy otherwise) over the whole dev set, not a batch average.
    """

    def __init__(self, task, data, batch_size, path, log, step_name):
        super().__init__()
        self.task, self.data, self.batch_size = task, data, batch_size
        self.path, self.log, self.step_name = path, log, step_name
        self.best = -math.inf
        self.best_metrics = None

    def on_epoch_end(self, epoch, logs=None):
        metrics = evaluate(self.model, self.task, self.data.dev, self.data.dev_labels,
                           self.batch_size)
        self.log(f"{self.step_name} epoch {epoch + 1}: dev {format_metrics(metrics)}")
        if primary_metric(self.task, metrics) > self.best:
            self.best, self.best_metrics = primary_metric(self.task, metrics), metrics
            write_hdf5_weights(self.path, self.model)


def _compile(model, task, hp, train_size, retention_lr=None):
    steps = hp.epochs * math.ceil(train_size / hp.batch_size)
    multiplier = 1.0 if retention_lr is None else retention_lr / hp.lr_bert
    model.compile(
        optimizer=PowerBertAdam(WarmupLinearDecay(hp.lr_bert, steps), multiplier),
        loss="mse" if task.is_regression else "sparse_categorical_crossentropy")


def _fit(model, data, hp, callbacks=()):
    model.fit(model_inputs(data.train), data.train_labels, batch_size=hp.batch_size,
              epochs=hp.epochs, shuffle=True, callbacks=list(callbacks), verbose=1)


def fine_tune(config, task, data, hp, output_dir, load_initial, log):
    """Step 1: BERT + a fresh classifier, trained on the task; best epoch -> finetune.hdf5.

    Args:
        load_initial: function(model) that loads the starting weights (CHECKPOINT_PATH).

    Returns:
        The dev metrics of the best epoch.
    """
    log("Step 1/3: fine-tuning")
    model = build_model(config, task.seq_len, task.num_labels)
    load_initial(model)
    _compile(model, task, hp, len(data.train))
    best = BestEpoch(task, data, hp.batch_size, os.path.join(output_dir, FINETUNE), log,
                     "Fine-tuning")
    _fit(model, data, hp, [best])
    log(f"Fine-tuning best epoch: dev {format_metrics(best.best_metrics)}")
    return best.best_metrics


def configuration_search(config, task, data, hp, output_dir, log):
    """Step 2: Soft-Extract in every block, from finetune.hdf5; returns the retention configuration.

    Retention parameters learn at LR_SOFT_EXTRACT, everything else at LR_BERT; the loss adds
    LAMBDA * j * sum(r_j) for block j.
    """
    log("Step 2/3: configuration search")
    model = build_model(config, task.seq_len, task.num_labels, search_lambda=hp.lambda_)
    assign_weights(model, read_hdf5_weights(os.path.join(output_dir, FINETUNE)),
                   optional=[layer.name for layer in soft_extract_layers(model)])
    _compile(model, task, hp, len(data.train), retention_lr=hp.lr_soft_extract)
    _fit(model, data, hp)
    write_hdf5_weights(os.path.join(output_dir, SEARCH), model)
    retention = derive_retention_configuration(
        [layer.r.numpy() for layer in soft_extract_layers(model)])
    log(f"Retention Configuration : {retention}")
    log(f"FLOP reduction of this configuration: "
        f"{flop_reduction(config, task.seq_len, retention, task.num_labels):.2f}x")
    return retention


def retrain(config, task, data, hp, retention, output_dir, log):
    """Step 3: Extract layers at the retention configuration; best epoch -> retrained.hdf5."""
    log("Step 3/3: re-training")
    model = build_model(config, task.seq_len, task.num_labels,
                        retention_configuration=retention)
    assign_weights(model, read_hdf5_weights(os.path.join(output_dir, SEARCH)))
    _compile(model, task, hp, len(data.train))
    best = BestEpoch(task, data, hp.batch_size, os.path.join(output_dir, RETRAINED), log,
                     "Re-training")
    _fit(model, data, hp, [best])
    log(f"Re-training best epoch: dev {format_metrics(best.best_metrics)}")
    return best.best_metrics


def train_power_bert(config, task, data, hp, output_dir, load_initial, log):
    """Runs the three steps; returns (fine-tuned metrics, retention, PoWER-BERT metrics)."""
    finetuned = fine_tune(config, task, data, hp, output_dir, load_initial, log)
    retention = configuration_search(config, task, data, hp, output_dir, log)
    retrained = retrain(config, task, data, hp, retention, output_dir, log)
    return finetuned, retention, retrained
