"""A training step's state at the end of each epoch, so that --RESUME goes on from the last
finished epoch rather than from the step's start.

An IMDB epoch at 512 tokens takes minutes, and a step of nine epochs over an hour; a run
stopped in its eighth epoch would otherwise train all nine again. The state is every variable
of the model (dropout's seed states included) and of its optimizer (Adam's moments and its
step count, so the learning rate goes on from where it was), and the best epoch so far
(`training.fit.BestEpoch`): the resumed step trains the weights the uninterrupted one would.

It lives in OUTPUT_DIR beside the step's output (`training.progress.epoch_state_file`),
written atomically after each epoch but the last, and removed once the step's output is
written.
"""

import json
import os
import zipfile

import keras
import numpy as np

from atomic_files import replaced_atomically


class EpochState(keras.callbacks.Callback):
    """Writes the step's state after each epoch but the last; `restore` reads it back before
    training.

    Args:
        path: the state's file.
        key: what the state is valid for (JSON-able): the run's training arguments, the
            step, the results of the steps before it. A state of another key is not read.
        best: the step's `BestEpoch`, whose record of the best epoch is part of the state,
            or None (the configuration search keeps its last epoch).
        log: function(line) of the run's log.
    """

    def __init__(self, path, key, best, log):
        super().__init__()
        self.path, self.key, self.best, self.log = path, key, best, log

    def _variables(self):
        return list(self.model.variables) + list(self.model.optimizer.variables)

    def restore(self, model):
        """Loads the state into `model` (compiled, its optimizer built) if there is one of this
        key that fits it; returns the epochs it had finished, 0 without one."""
        self.set_model(model)
        if not os.path.exists(self.path):
            return 0
        variables = self._variables()
        try:
            with np.load(self.path, allow_pickle=False) as saved:
                record = json.loads(str(saved["record"]))
                if record["key"] != self.key:  # read before the arrays, which are large
                    return 0
                values = [saved[f"v{i}"] for i in range(record["variables"])]
                best = [saved[f"b{i}"] for i in range(record.get("best_weights", 0))]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            self.log(f"{self.path} is unreadable ({error}); the step starts from its first "
                     "epoch")
            return 0
        if [value.shape for value in values] != [tuple(v.shape) for v in variables]:
            self.log(f"{self.path} does not fit this model; the step starts from its first "
                     "epoch")
            return 0
        for variable, value in zip(variables, values):
            variable.assign(value)
        if self.best is not None:
            self.best.restore(record["best"], best)
        self.log(f"Resuming from {self.path}: {record['epochs']} epoch"
                 f"{'s' * (record['epochs'] != 1)} of this step done")
        return record["epochs"]

    def on_epoch_end(self, epoch, logs=None):
        # After the last epoch the step's output is written at once: a state written then
        # would be removed unread, after costing every run its write.
        if epoch + 1 == self.params["epochs"]:
            return
        arrays = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(self._variables())}
        record = {"key": self.key, "epochs": epoch + 1, "variables": len(arrays)}
        if self.best is not None:
            record["best"], weights = self.best.state()
            record["best_weights"] = len(weights)
            arrays.update({f"b{i}": w for i, w in enumerate(weights)})
        with replaced_atomically(self.path) as temp, open(temp, "wb") as f:
            np.savez(f, record=np.array(json.dumps(record)), **arrays)

    def discard(self):
        """Removes the state, once the step's output holds what it led to."""
        if os.path.exists(self.path):
            os.remove(self.path)
