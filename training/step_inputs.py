"""What every training step takes: the hyperparameters, the encoded task data, and the
`StepContext` that holds them with the rest of what a run's steps share."""

import dataclasses
import os
from collections.abc import Callable

import numpy as np

from data.features import encode, encode_labels
from data.tasks import Task
from extract_layers import ABSOLUTE, RetentionConfiguration
from modeling.config import BertConfig
from training.distillation import DEFAULT_TEMPERATURE
from training.optimizer import BERT_RECIPE, AdamRecipe


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """The training flags: EPOCH, BATCH_SIZE, LR_BERT, LR_SOFT_EXTRACT, LAMBDA, PADDING,
    GROUP_BY_LENGTH, SEED, DISTILL, TEMPERATURE, MASS_PENALTY, SEARCH_EPOCH, RETRAIN_EPOCH.

    `padding` "batch" pads every batch to its longest row and lets only real words vote in
    the significance score; "seq_len" pads every input to seq_len and lets padding vote
    (the original PoWER-BERT). `distill` is ALPHA, the weight of the fine-tuned BERT's
    outputs in the loss of steps 2 and 3 at `temperature` (0: the original's loss; see
    `training.distillation`). `mass_penalty` "paper" weights block j's mass by j in the
    search's penalty, "flops" by the FLOPs a word it keeps costs (`modeling.flops.mass_weights`).
    `search_epochs`, `retrain_epochs`: the epochs of steps 2 and 3, where they differ from
    `epochs` (else None); `step_epochs` gives all three.
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
    retention_mode: str = ABSOLUTE
    seed: int = 0
    distill: float = 0.0
    temperature: float = DEFAULT_TEMPERATURE
    mass_penalty: str = "paper"
    search_epochs: int | None = None
    retrain_epochs: int | None = None
    optimizer: AdamRecipe = BERT_RECIPE

    @property
    def distills(self):
        return self.distill > 0

    @property
    def step_epochs(self):
        """The epochs of fine-tuning, the configuration search and re-training."""
        return power_bert_epochs(self.epochs, self.search_epochs, self.retrain_epochs)

    @property
    def distillation(self):
        """What the `.hdf5` record says of the distillation: None, or ALPHA and T."""
        return ({"alpha": self.distill, "temperature": self.temperature} if self.distills
                else None)

    @property
    def retention(self):
        """The `RetentionConfiguration` the steps' models run in, its values still to be found
        by the configuration search: `retention_mode` and `padding`."""
        return RetentionConfiguration(mode=self.retention_mode, padding=self.padding)


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

    def digest(self):
        """A digest of the train and dev rows and labels, as encoded: the same digest, the same
        rows (a sweep's record of what its steps trained on, `benchmarks.tradeoff.sweep`)."""
        import hashlib

        digest = hashlib.sha256()
        for array in (self.train.token_ids, self.train_labels, self.dev.token_ids,
                      self.dev_labels):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class StepContext:
    """What every training step of a run takes (`training.steps`), the same for each step.

    Attributes:
        config: the model's `BertConfig`.
        task: the `Task`.
        data: its `TaskData`.
        hp: the `Hyperparameters`.
        output_dir: the folder of the steps' `.hdf5` files: OUTPUT_DIR, or one run's folder
            of a sweep.
        log: function(line), the run's log.
        strategy: the tf.distribute strategy, or None for TensorFlow's default.
    """

    config: BertConfig
    task: Task
    data: TaskData
    hp: Hyperparameters
    output_dir: str
    log: Callable
    strategy: object = None

    def scope(self):
        """The strategy's scope, under which variables and the optimizer are created."""
        import tensorflow as tf

        return (self.strategy or tf.distribute.get_strategy()).scope()

    def path(self, name):
        """The path of a step's file `name` in `output_dir`."""
        return os.path.join(self.output_dir, name)


def power_bert_epochs(epochs, search_epochs=None, retrain_epochs=None):
    """The epochs of fine-tuning, the configuration search and re-training: EPOCH each, as in
    the original, the search SEARCH_EPOCH and re-training RETRAIN_EPOCH where given (None:
    EPOCH)."""
    return tuple(epochs if step is None else step
                 for step in (epochs, search_epochs, retrain_epochs))
