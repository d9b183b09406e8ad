"""What every training step takes: the hyperparameters and the encoded task data."""

import dataclasses

import numpy as np

from data.features import encode, encode_labels
from training.distillation import DEFAULT_TEMPERATURE
from training.optimizer import BERT_RECIPE, AdamRecipe


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
