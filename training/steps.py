"""The three training steps of PoWER-BERT: fine-tune, configuration search, re-train.

Weights go from step to step by layer name through the `.hdf5` files in OUTPUT_DIR:
`finetune.hdf5` (best epoch of step 1) -> `configuration_search_model.hdf5` (end of step 2)
-> `retrained.hdf5` (best epoch of step 3). Each file is written once, when its step ends, so
an interrupted step leaves no file under its name; `progress.json` then records the step, and
a resumed run (`--RESUME`) skips the steps recorded there.
"""

import dataclasses
import json
import math
import os

import keras
import numpy as np
import tensorflow as tf

from checkpoints.hdf5 import model_record, read_hdf5_weights, write_hdf5_weights
from checkpoints.assign import assign_weights
from data.batches import training_order
from data.features import encode, encode_labels
from errors import UserError
from extract_layers import (derive_relative_configuration, derive_retention_configuration,
                            parse_recorded_configuration)
from modeling.bert import build_model, soft_extract_layers
from modeling.flops import flop_reduction, mass_weights, reductions_against_both_baselines
from scoring.evaluation import evaluate, format_metrics
from scoring.metrics import original_validation_metric, primary_metric
from training.distillation import (DEFAULT_TEMPERATURE, distillation_loss, targets_with_teacher,
                                   teacher_outputs)
from training.distribute import fit_under_any_strategy
from training.log import original_epochs_line, original_retention_line
from training.optimizer import BERT_RECIPE, AdamRecipe, PowerBertAdam, WarmupLinearDecay
from training.progress import RunProgress

FINETUNE = "finetune.hdf5"
SEARCH = "configuration_search_model.hdf5"
RETRAINED = "retrained.hdf5"
# (step name in progress.json, its output file), in running order.
STEP_OUTPUTS = (("fine-tuning", FINETUNE), ("configuration search", SEARCH),
                ("re-training", RETRAINED))


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """The training flags: EPOCH, BATCH_SIZE, LR_BERT, LR_SOFT_EXTRACT, LAMBDA, PADDING,
    GROUP_BY_LENGTH, SEED, DISTILL, TEMPERATURE, MASS_PENALTY, RETRAIN_EPOCH.

    `padding` "batch" pads every batch to its longest row and lets only real words vote in
    the significance score; "seq_len" pads every input to seq_len and lets padding vote
    (the original PoWER-BERT). `distill` is ALPHA, the weight of the fine-tuned BERT's
    outputs in the loss of steps 2 and 3 at `temperature` (0: the original's loss; see
    `training.distillation`). `mass_penalty` "paper" weights block j's mass by j in the
    search's penalty, "flops" by the FLOPs a word it keeps costs (`modeling.flops.mass_weights`).
    `retrain_epochs`: the epochs of step 3, where they differ from `epochs` (else None).
    `seed` draws the order of the training rows, new layers' initial weights and dropout.
    `optimizer`: what Adam does besides its learning rates (`training.optimizer.AdamRecipe`).
    """

    epochs: int
    batch_size: int
    lr_bert: float
    lr_soft_extract: float
    lambda_: float
    padding: str = "batch"
    group_by_length: bool = False
    retention_mode: str = "absolute"
    seed: int = 0
    distill: float = 0.0
    temperature: float = DEFAULT_TEMPERATURE
    mass_penalty: str = "paper"
    retrain_epochs: int | None = None
    optimizer: AdamRecipe = BERT_RECIPE

    @property
    def distills(self):
        return self.distill > 0

    @property
    def distillation(self):
        """What the `.hdf5` record says of the distillation: None, or ALPHA and T."""
        return ({"alpha": self.distill, "temperature": self.temperature} if self.distills
                else None)

    @property
    def padding_votes(self):
        return self.padding == "seq_len"

    @property
    def relative(self):
        """The configuration search learns, and re-training keeps, shares of each input."""
        return self.retention_mode == "relative"


@dataclasses.dataclass(frozen=True)
class TaskData:
    """Encoded train and dev splits of a task."""

    train: object  # data.features.Features
    train_labels: np.ndarray
    dev: object
    dev_labels: np.ndarray
    teacher: np.ndarray | None = None  # the fine-tuned BERT's outputs on the training rows

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


def training_dataset(data, hp, distill=False):
    """The training batches of every epoch, one after another, as a `tf.data.Dataset`.

    Returns:
        (dataset of ((token, segment, mask), targets) batches, steps per epoch). With
        `hp.padding` "batch" each batch is cut to its longest row. The targets are the
        labels, or with `distill` each label beside the teacher's outputs.
    """
    # Shuffled by a fixed NumPy permutation per epoch rather than tf.data's random ops, whose
    # seeds change when a strategy rewrites the input pipeline: a run must see the same order
    # whatever the devices. Drawn from --SEED, so that seeds differ in their data order too.
    order = training_order(data.train.lengths, hp.batch_size, hp.epochs, hp.group_by_length,
                           hp.seed)  # (epochs, n)
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
    return dataset.map(batch), math.ceil(len(labels) / hp.batch_size)


def _fit(model, data, hp, callbacks=(), distill=False):
    dataset, steps_per_epoch = training_dataset(data, hp, distill)
    fit_under_any_strategy(model)
    # With steps_per_epoch, Keras reads the epochs one after another from one iterator.
    model.fit(dataset, epochs=hp.epochs, steps_per_epoch=steps_per_epoch, shuffle=False,
              callbacks=list(callbacks), verbose=1)


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
        compile_for_training(model, task, hp, len(data.train))
    best = BestEpoch(task, data, hp, log, "Fine-tuning")
    _fit(model, data, hp, [best])
    return best.save(os.path.join(output_dir, FINETUNE),
                     model_record(task, None, hp.padding, hp.retention_mode))


def configuration_search(config, task, data, hp, output_dir, log, strategy=None):
    """Step 2: Soft-Extract in every block, from finetune.hdf5; returns the retention configuration.

    Retention parameters learn at LR_SOFT_EXTRACT, everything else at LR_BERT; the loss adds
    LAMBDA * w_j * sum(r_j) for block j, w_j = j (the paper's) or, with `hp.mass_penalty`
    "flops", the FLOPs a word kept by block j costs. With `hp.distills`, `data.teacher` holds
    the fine-tuned BERT's outputs on the training rows (`with_teacher`).
    """
    log("Step 2/3: configuration search" + _distilling(hp))
    weights = mass_weights(config, task.seq_len) if hp.mass_penalty == "flops" else None
    if weights is not None:
        log("The mass penalty weights each block's mass by the FLOPs a word it keeps costs "
            f"(--MASS_PENALTY flops), not by j: {', '.join(f'{w:.3f}' for w in weights)}")
    keras.utils.set_random_seed(hp.seed)
    with _scope(strategy):
        model = build_model(config, task.seq_len, task.num_labels, search_lambda=hp.lambda_,
                            padding_votes=hp.padding_votes, relative=hp.relative,
                            mass_weights=weights)
        assign_weights(model, read_hdf5_weights(os.path.join(output_dir, FINETUNE)),
                       optional=[layer.name for layer in soft_extract_layers(model)])
        compile_for_training(model, task, hp, len(data.train), retention_lr=hp.lr_soft_extract,
                             distill=hp.distills)
    _fit(model, data, hp, distill=hp.distills)
    derive = derive_relative_configuration if hp.relative else derive_retention_configuration
    retention = derive([layer.r.numpy() for layer in soft_extract_layers(model)])
    # The search model records the configuration its retention parameters give.
    write_hdf5_weights(os.path.join(output_dir, SEARCH), model,
                       model_record(task, retention, hp.padding, hp.retention_mode,
                                    hp.distillation))
    log(f"Retention Configuration : {retention}")
    log(original_retention_line(retention, hp.relative))
    log(flop_report(config, task, data.dev.lengths, retention, hp.relative))
    return retention


def flop_report(config, task, lengths, retention, relative=False):
    """The log line of a configuration's FLOP reduction against both BERT baselines.

    Args:
        config, task: the model's `BertConfig` and `Task`.
        lengths: the real lengths of the dev set's rows.
        retention: the retention configuration; shares if `relative`.
    """
    real, padded = reductions_against_both_baselines(config, lengths, task.seq_len, retention,
                                                     task.num_labels, relative)
    line = (f"FLOP reduction of this configuration on the dev set: {real:.2f}x against BERT "
            f"on real lengths, {padded:.2f}x against BERT padded to seq_len {task.seq_len}")
    if not relative:  # the paper's number: both padded to seq_len
        paper = flop_reduction(config, task.seq_len, retention, task.num_labels)
        line += f"; {paper:.2f}x with both padded to seq_len (the paper's count)"
    return line


def retrain(config, task, data, hp, retention, output_dir, log, strategy=None):
    """Step 3: Extract layers at the retention configuration; best epoch -> retrained.hdf5.

    With `hp.distills`, learns from `data.teacher` as the configuration search does; runs
    `hp.retrain_epochs` epochs where given, its learning rate decaying over them.
    """
    if hp.retrain_epochs is not None:
        hp = dataclasses.replace(hp, epochs=hp.retrain_epochs)
    log(f"Step 3/3: re-training, {hp.epochs} epochs" + _distilling(hp))
    keras.utils.set_random_seed(hp.seed)
    with _scope(strategy):
        model = build_model(config, task.seq_len, task.num_labels,
                            retention_configuration=retention, padding_votes=hp.padding_votes,
                            relative=hp.relative)
        assign_weights(model, read_hdf5_weights(os.path.join(output_dir, SEARCH)))
        compile_for_training(model, task, hp, len(data.train), distill=hp.distills)
    best = BestEpoch(task, data, hp, log, "Re-training")
    _fit(model, data, hp, [best], distill=hp.distills)
    return best.save(os.path.join(output_dir, RETRAINED),
                     model_record(task, retention, hp.padding, hp.retention_mode,
                                  hp.distillation))


def _distilling(hp):
    return (f", distilling the fine-tuned BERT (ALPHA {hp.distill:g}, TEMPERATURE "
            f"{hp.temperature:g})" if hp.distills else "")


def with_teacher(config, task, data, hp, output_dir, log, strategy=None, fresh=True):
    """`data` with `teacher`: finetune.hdf5's outputs on the training rows (see
    `training.distillation.teacher_outputs`; `fresh`: step 1 has just written it)."""
    def teacher():
        with _scope(strategy):
            model = build_model(config, task.seq_len, task.num_labels)
            assign_weights(model, read_hdf5_weights(os.path.join(output_dir, FINETUNE)))
        return model

    return dataclasses.replace(data, teacher=teacher_outputs(
        teacher, data.train, hp.batch_size, hp.padding, output_dir, log, fresh))


def recorded_results_problem(step, results, num_layers, seq_len, relative):
    """What in the results `progress.json` records for a step does not fit this run (it was
    edited by hand, or written for another model), or None if they fit.

    Args:
        step: the step's name, as in STEP_OUTPUTS.
        results: what the step returned: its dev metrics, or the configuration search's
            retention configuration.
        num_layers, seq_len: the model's blocks and the task's sequence length.
        relative: the configuration holds shares of each input's length.
    """
    if step == "configuration search":
        try:
            parse_recorded_configuration(results, num_layers, seq_len, relative)
        except UserError:
            kind = "shares" if relative else f"word counts up to seq_len {seq_len}"
            return (f"its retention configuration {json.dumps(results)} is not {num_layers} "
                    f"non-increasing {kind}, one per block of the model")
        return None
    if not (isinstance(results, dict) and results and all(
            isinstance(value, (int, float)) and not isinstance(value, bool)
            for value in results.values())):
        return f"its {step} results {json.dumps(results)} are not dev metrics (name: number)"
    return None


def train_power_bert(config, task, data, hp, output_dir, load_initial, log, strategy=None):
    """Runs the three steps, skipping those `progress.json` records as finished.

    Each step is recorded in `progress.json` once its output file is complete; a step run
    again makes the later steps run again too (see `RunProgress`).

    Returns:
        (fine-tuned metrics, retention configuration, PoWER-BERT metrics).
    """
    progress = RunProgress(output_dir)
    ran = []

    def step(number, run):
        name, output_file = STEP_OUTPUTS[number - 1]
        results = progress.finished(name, output_file)
        if results is not None:
            log(f"Step {number}/3: {name} skipped: {output_file} is complete (--RESUME); "
                f"recorded results: {results}")
            return results
        results = run()
        progress.finish(name, results)
        ran.append(number)
        return results

    finetuned = step(1, lambda: fine_tune(config, task, data, hp, output_dir, load_initial, log,
                                          strategy))
    if hp.distills and progress.finished(*STEP_OUTPUTS[2]) is None:
        data = with_teacher(config, task, data, hp, output_dir, log, strategy, fresh=1 in ran)
    retention = step(2, lambda: configuration_search(config, task, data, hp, output_dir, log,
                                                     strategy))
    retrained = step(3, lambda: retrain(config, task, data, hp, retention, output_dir, log,
                                        strategy))
    return finetuned, retention, retrained
