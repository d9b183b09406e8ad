"""The three training steps of PoWER-BERT: fine-tune, configuration search, re-train.

Weights go from step to step by layer name through the `.hdf5` files in OUTPUT_DIR:
`finetune.hdf5` (best epoch of step 1) -> `configuration_search_model.hdf5` (end of step 2)
-> `retrained.hdf5` (best epoch of step 3). Each file is written once, when its step ends, so
an interrupted step leaves no file under its name; `progress.json` then records the step, and
a resumed run (`--RESUME`) skips the steps recorded there.
"""

import dataclasses
import math
import os

import keras
import numpy as np
import tensorflow as tf

from checkpoints.hdf5 import model_record, read_hdf5_weights, write_hdf5_weights
from checkpoints.assign import assign_weights
from data.features import encode, encode_labels
from extract_layers import derive_retention_configuration
from modeling.bert import build_model, soft_extract_layers
from modeling.flops import flop_reduction
from training.distribute import fit_under_any_strategy
from training.evaluation import evaluate, format_metrics, model_inputs
from training.log import RunProgress, original_epochs_line, original_retention_line
from training.metrics import original_validation_metric, primary_metric
from training.optimizer import PowerBertAdam, WarmupLinearDecay

FINETUNE = "finetune.hdf5"
SEARCH = "configuration_search_model.hdf5"
RETRAINED = "retrained.hdf5"
SHUFFLE_SEED = 12345
# (step name in progress.json, its output file), in running order.
STEP_OUTPUTS = (("fine-tuning", FINETUNE), ("configuration search", SEARCH),
                ("re-training", RETRAINED))


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """The training flags: EPOCH, BATCH_SIZE, LR_BERT, LR_SOFT_EXTRACT, LAMBDA, SEED."""

    epochs: int
    batch_size: int
    lr_bert: float
    lr_soft_extract: float
    lambda_: float
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class TaskData:
    """Encoded train and dev splits of a task."""

    train: object  # data.features.Features
    train_labels: np.ndarray
    dev: object
    dev_labels: np.ndarray

    @classmethod
    def from_examples(cls, task, train, dev, tokenizer):
        """Encodes the train and dev examples of `task` at its seq_len."""
        return cls(encode(train, tokenizer, task.seq_len), encode_labels(train, task),
                   encode(dev, tokenizer, task.seq_len), encode_labels(dev, task))


class BestEpoch(keras.callbacks.Callback):
    """After each epoch: scores the whole dev set, logs it, keeps the weights if they are the best.

    The best epoch is chosen by the task's GLUE metric (MCC for CoLA, F1 for MRPC/QQP,
    Spearman for STS-B, accuracy otherwise) over the whole dev set, not a batch average.
    The weights stay in memory until the step ends (`save`), so that a step interrupted
    after some epochs leaves no file that looks like its finished output.
    """

    def __init__(self, task, data, batch_size, log, step_name):
        super().__init__()
        self.task, self.data, self.batch_size = task, data, batch_size
        self.log, self.step_name = log, step_name
        self.best = -math.inf
        self.best_metrics = self.best_weights = None
        self.history = []  # the original's validation metric, per epoch

    def on_epoch_end(self, epoch, logs=None):
        metrics = evaluate(self.model, self.task, self.data.dev, self.data.dev_labels,
                           self.batch_size)
        self.log(f"{self.step_name} epoch {epoch + 1}: dev {format_metrics(metrics)}")
        self.history.append(original_validation_metric(self.task, metrics))
        # The first epoch is kept even if its metric is NaN, so that a step always has output.
        if self.best_weights is None or primary_metric(self.task, metrics) > self.best:
            self.best, self.best_metrics = primary_metric(self.task, metrics), metrics
            self.best_weights = self.model.get_weights()

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


def _scope(strategy):
    """Variables and the optimizer are created under the strategy's scope."""
    return (strategy or tf.distribute.get_strategy()).scope()


def _compile(model, task, hp, train_size, retention_lr=None):
    steps = hp.epochs * math.ceil(train_size / hp.batch_size)
    retention = None if retention_lr is None else WarmupLinearDecay(retention_lr, steps)
    model.compile(
        optimizer=PowerBertAdam(WarmupLinearDecay(hp.lr_bert, steps), retention),
        loss="mse" if task.is_regression else "sparse_categorical_crossentropy")


def _fit(model, data, hp, callbacks=()):
    # Shuffled by a fixed NumPy permutation per epoch rather than tf.data's random ops, whose
    # seeds change when a strategy rewrites the input pipeline: a run must see the same order
    # whatever the devices.
    n = len(data.train_labels)
    rng = np.random.default_rng(SHUFFLE_SEED)
    order = np.stack([rng.permutation(n) for _ in range(hp.epochs)])  # (epochs, n)
    inputs, labels = tuple(model_inputs(data.train)), data.train_labels
    dataset = tf.data.Dataset.from_tensor_slices(order).flat_map(
        lambda epoch: tf.data.Dataset.from_tensor_slices(epoch).batch(hp.batch_size))
    dataset = dataset.map(lambda rows: (tuple(tf.gather(x, rows) for x in inputs),
                                        tf.gather(labels, rows)))
    fit_under_any_strategy(model)
    # With steps_per_epoch, Keras reads the epochs one after another from one iterator.
    model.fit(dataset, epochs=hp.epochs, steps_per_epoch=math.ceil(n / hp.batch_size),
              shuffle=False, callbacks=list(callbacks), verbose=1)


def fine_tune(config, task, data, hp, output_dir, load_initial, log, strategy=None):
    """Step 1: BERT + a fresh classifier, trained on the task; best epoch -> finetune.hdf5.

    Args:
        load_initial: function(model) that loads the starting weights (CHECKPOINT_PATH).

    Returns:
        The dev metrics of the best epoch, as floats.
    """
    log("Step 1/3: fine-tuning")
    # Seeded per step, so that a step run again by --RESUME draws what it drew the first time.
    keras.utils.set_random_seed(hp.seed)
    with _scope(strategy):
        model = build_model(config, task.seq_len, task.num_labels)
        load_initial(model)
        _compile(model, task, hp, len(data.train))
    best = BestEpoch(task, data, hp.batch_size, log, "Fine-tuning")
    _fit(model, data, hp, [best])
    return best.save(os.path.join(output_dir, FINETUNE), model_record(task, None))


def configuration_search(config, task, data, hp, output_dir, log, strategy=None):
    """Step 2: Soft-Extract in every block, from finetune.hdf5; returns the retention configuration.

    Retention parameters learn at LR_SOFT_EXTRACT, everything else at LR_BERT; the loss adds
    LAMBDA * j * sum(r_j) for block j.
    """
    log("Step 2/3: configuration search")
    keras.utils.set_random_seed(hp.seed)
    with _scope(strategy):
        model = build_model(config, task.seq_len, task.num_labels, search_lambda=hp.lambda_)
        assign_weights(model, read_hdf5_weights(os.path.join(output_dir, FINETUNE)),
                       optional=[layer.name for layer in soft_extract_layers(model)])
        _compile(model, task, hp, len(data.train), retention_lr=hp.lr_soft_extract)
    _fit(model, data, hp)
    retention = derive_retention_configuration(
        [layer.r.numpy() for layer in soft_extract_layers(model)])
    # The search model records the configuration its retention parameters give.
    write_hdf5_weights(os.path.join(output_dir, SEARCH), model, model_record(task, retention))
    log(f"Retention Configuration : {retention}")
    log(original_retention_line(retention))
    log(f"FLOP reduction of this configuration: "
        f"{flop_reduction(config, task.seq_len, retention, task.num_labels):.2f}x")
    return retention


def retrain(config, task, data, hp, retention, output_dir, log, strategy=None):
    """Step 3: Extract layers at the retention configuration; best epoch -> retrained.hdf5."""
    log("Step 3/3: re-training")
    keras.utils.set_random_seed(hp.seed)
    with _scope(strategy):
        model = build_model(config, task.seq_len, task.num_labels,
                            retention_configuration=retention)
        assign_weights(model, read_hdf5_weights(os.path.join(output_dir, SEARCH)))
        _compile(model, task, hp, len(data.train))
    best = BestEpoch(task, data, hp.batch_size, log, "Re-training")
    _fit(model, data, hp, [best])
    return best.save(os.path.join(output_dir, RETRAINED), model_record(task, retention))


def train_power_bert(config, task, data, hp, output_dir, load_initial, log, strategy=None):
    """Runs the three steps, skipping those `progress.json` records as finished.

    Each step is recorded in `progress.json` once its output file is complete; a step run
    again makes the later steps run again too (see `RunProgress`).

    Returns:
        (fine-tuned metrics, retention configuration, PoWER-BERT metrics).
    """
    progress = RunProgress(output_dir)

    def step(number, run):
        name, output_file = STEP_OUTPUTS[number - 1]
        results = progress.finished(name, output_file)
        if results is not None:
            log(f"Step {number}/3: {name} skipped: {output_file} is complete (--RESUME); "
                f"recorded results: {results}")
            return results
        results = run()
        progress.finish(name, results)
        return results

    finetuned = step(1, lambda: fine_tune(config, task, data, hp, output_dir, load_initial, log,
                                          strategy))
    retention = step(2, lambda: configuration_search(config, task, data, hp, output_dir, log,
                                                     strategy))
    retrained = step(3, lambda: retrain(config, task, data, hp, retention, output_dir, log,
                                        strategy))
    return finetuned, retention, retrained
