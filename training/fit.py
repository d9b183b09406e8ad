"""How a training step fits its model: the optimizer and loss, the batches of every epoch in
the order --SEED draws, and the best epoch on the whole dev set."""

import json
import math

import keras
import tensorflow as tf

from checkpoints.hdf5 import write_hdf5_weights
from data.batches import training_order
from modeling.bert import soft_extract_layers
from scoring.evaluation import evaluate, format_metrics
from scoring.metrics import original_validation_metric, primary_metric
from training.distillation import distillation_loss, targets_with_teacher
from training.distribute import fit_under_any_strategy
from training.log import original_epochs_line
from training.optimizer import PowerBertAdam, WarmupLinearDecay


class BestEpoch(keras.callbacks.Callback):
    """After each epoch: scores the whole dev set, logs it, keeps the weights if they are the best.

    The best epoch is chosen by the task's GLUE metric (MCC for CoLA, F1 for MRPC/QQP,
    Spearman for STS-B, accuracy otherwise) over the whole dev set, not a batch average.
    The weights stay in memory until the step ends (`save`), so that a step interrupted
    after some epochs leaves no file that looks like its finished output.
    """

    def __init__(self, task, data, hp, log, step_name):
        super().__init__()
        self.task, self.data, self.hp = task, data, hp
        self.log, self.step_name = log, step_name
        self.best = -math.inf
        self.best_metrics = self.best_weights = None
        self.history = []  # the original's validation metric, per epoch

    def on_epoch_end(self, epoch, logs=None):
        metrics = evaluate(self.model, self.task, self.data.dev, self.data.dev_labels,
                           self.hp.batch_size, self.hp.padding)
        self.log(f"{self.step_name} epoch {epoch + 1}: dev {format_metrics(metrics)}")
        self.history.append(original_validation_metric(self.task, metrics))
        # The first epoch is kept even if its metric is NaN, so that a step always has output.
        if self.best_weights is None or primary_metric(self.task, metrics) > self.best:
            self.best, self.best_metrics = primary_metric(self.task, metrics), metrics
            self.best_weights = self.model.get_weights()

    def state(self):
        """(what `restore` takes back: the best epoch's metrics and the history, JSON-able;
        the best epoch's weights)."""
        record = {"best": self.best, "metrics": self.best_metrics, "history": self.history}
        return json.loads(json.dumps(record, default=float)), self.best_weights or []

    def restore(self, record, weights):
        """Takes back what `state` gave, as `training.epoch_state.EpochState` read it."""
        self.best, self.history = record["best"], record["history"]
        self.best_metrics, self.best_weights = record["metrics"], weights or None

    def save(self, path, metadata):
        """Writes the best epoch's weights to `path` (atomically) and returns its metrics.

        Args:
            path: the step's `.hdf5` file.
            metadata: its `checkpoints.hdf5.model_record`.
        """
        self.model.set_weights(self.best_weights)
        write_hdf5_weights(path, self.model, metadata)
        self.log(f"{self.step_name} best epoch: dev {format_metrics(self.best_metrics)}")
        self.log(original_epochs_line(self.step_name.lower(), self.history))
        return {name: float(value) for name, value in self.best_metrics.items()}


def compile_for_training(model, task, hp, train_size, retention_lr=None, distill=False):
    """Compiles with `hp.optimizer`'s Adam, warm-up then linear decay, retention
    parameters at their own rate `retention_lr` (configuration search only); with `distill`,
    the loss learns from the teacher too (`hp.distill`, `hp.temperature`)."""
    steps = hp.epochs * math.ceil(train_size / hp.batch_size)
    retention = None if retention_lr is None else WarmupLinearDecay(retention_lr, steps)
    if distill:
        loss = distillation_loss(hp.distill, hp.temperature, task.is_regression)
    else:
        loss = "mse" if task.is_regression else "sparse_categorical_crossentropy"
    model.compile(
        optimizer=PowerBertAdam(WarmupLinearDecay(hp.lr_bert, steps), retention,
                                retention_variables=[layer.r for layer in
                                                     soft_extract_layers(model)],
                                recipe=hp.optimizer),
        loss=loss)
    # Slots made inside the first traced step make TensorFlow trace every fit's
    # train_step twice; made here, it is traced once: one trace less per step 1-3, same weights.
    model.optimizer.build(model.trainable_variables)


def training_dataset(data, hp, distill=False, first_epoch=0):
    """The training batches of every epoch from `first_epoch` on, one after another, as a
    `tf.data.Dataset`.

    Returns:
        (dataset of ((token, segment, mask), targets) batches, steps per epoch). With
        `hp.padding` "batch" each batch is cut to its longest row. The targets are the
        labels, or with `distill` each label beside the teacher's outputs.
    """
    # Shuffled by a fixed NumPy permutation per epoch rather than tf.data's random ops, whose
    # seeds change when a strategy rewrites the input pipeline: a run must see the same order
    # whatever the devices. Drawn from --SEED, so that seeds differ in their data order too.
    order = training_order(data.train.lengths, hp.batch_size, hp.epochs, hp.group_by_length,
                           hp.seed)[first_epoch:]  # (epochs to train, n)
    inputs, labels = tuple(data.train.inputs), data.train_labels
    if distill:
        labels = targets_with_teacher(labels, data.teacher)
    lengths = data.train.lengths

    def batch(rows):
        batch = tuple(tf.gather(x, rows) for x in inputs)
        if hp.padding == "batch":  # cut to the longest row of the batch
            width = tf.reduce_max(tf.gather(lengths, rows))
            batch = tuple(x[:, :width] for x in batch)
        return batch, tf.gather(labels, rows)

    dataset = tf.data.Dataset.from_tensor_slices(order).flat_map(
        lambda epoch: tf.data.Dataset.from_tensor_slices(epoch).batch(hp.batch_size))
    # No tf.data autotuning: its model thread sleeps up to a minute between rounds, and the
    # iterator's destructor waits for it, so a fit could return up to a minute after its last
    # epoch, and a run stopped by Ctrl-C or SIGTERM could take as long to exit. Gathering a
    # batch of rows has nothing to tune.
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.map(batch).with_options(options), math.ceil(len(labels) / hp.batch_size)


def fit(model, data, hp, callbacks=(), distill=False, state=None):
    """Trains `model` for `hp.epochs` on `training_dataset`'s batches; with `state` (an
    `EpochState`), from the last epoch it holds, writing it after each epoch but the last."""
    first = 0 if state is None else state.restore(model)
    dataset, steps_per_epoch = training_dataset(data, hp, distill, first)
    fit_under_any_strategy(model)
    # With steps_per_epoch, Keras reads the epochs one after another from one iterator.
    model.fit(dataset, epochs=hp.epochs, initial_epoch=first, steps_per_epoch=steps_per_epoch,
              shuffle=False, callbacks=[*callbacks, *([] if state is None else [state])],
              verbose=1)
