"""`Task`: one row of the task table (data/tasks.py), built in or defined by the user
(data/user_tasks.py)."""

import dataclasses

# The smallest sequence that holds [CLS], one word piece and [SEP].
MIN_SEQ_LEN = 3


@dataclasses.dataclass(frozen=True)
class Task:
    """One task: a GLUE task, IMDB (movie reviews, long documents), or the user's own.

    Args:
        name: the `--TASK` value, e.g. "mrpc".
        seq_len: maximum sequence length N (the original's task_config.json).
        labels: label strings in label-id order, as the original assigned the ids (its
            .hdf5 classifiers depend on that order); these are also GLUE's spellings.
            Empty for the regression task STS-B.
        metric: the metric that picks the best epoch ("accuracy", "f1", "mcc",
            "spearman"; a user task also "macro_f1", "pearson"). F1's positive class is the
            second label.
        glue_file: name of the task's file in a GLUE server submission; None for a task
            that is not in GLUE (imdb).
        lr_bert, lr_soft_extract, lambda_, batch_size: the original README's defaults
            for uncased BERT-Base (GLUE), or ours (imdb, see the README; user tasks).
        epochs: the original's EPOCH default, 3 for every task.
        search_epochs, retrain_epochs: the epochs of steps 2 and 3 where they differ from
            `epochs` (None: as many); set only among the embedded MiniLM's defaults.
        embedded: the defaults that differ for the embedded MiniLM (6 blocks, H 384), by
            field name (data/tasks.py, EMBEDDED_RECIPE); empty: it takes the defaults above.
        source: a user task's files and columns (`data.readers.DataSource`); None for a
            built-in task, which reads GLUE's layout (data/glue.py).
    """

    name: str
    seq_len: int
    labels: tuple[str, ...]
    metric: str
    glue_file: str | None
    lr_bert: float
    lr_soft_extract: float
    lambda_: float
    batch_size: int
    epochs: int = 3
    search_epochs: int | None = None
    retrain_epochs: int | None = None
    embedded: dict = dataclasses.field(default_factory=dict)
    source: object = None

    def defaults_for(self, embedded_model):
        """This task with the embedded MiniLM's defaults where `embedded_model` and it has
        its own, else as it is."""
        if not (embedded_model and self.embedded):
            return self
        return dataclasses.replace(self, **self.embedded, embedded={})

    @property
    def is_regression(self):
        return not self.labels

    @property
    def num_labels(self):
        """Width of the classifier output: one score unit for regression."""
        return len(self.labels) or 1

    def step_epochs_unless_given(self, epochs, search_epochs, retrain_epochs):
        """SEARCH_EPOCH and RETRAIN_EPOCH as {"search_epochs": ..., "retrain_epochs": ...}:
        each as given; not given, this task's own where EPOCH (`epochs`) is not given either
        (a given EPOCH sets all three steps, as in the original); None means EPOCH's."""
        given = {"search_epochs": search_epochs, "retrain_epochs": retrain_epochs}
        return given if epochs is not None else self.unless_given(**given)

    def unless_given(self, **given):
        """The given hyperparameters, with this task's default for each one not given.

        Args:
            **given: values by field name, e.g. batch_size=None, lr_bert=0.0; None means
                not given (0 is a given value, as in main.py).

        Returns:
            {field name: the given value, or the task's own where it is None}.
        """
        return {name: getattr(self, name) if value is None else value
                for name, value in given.items()}
