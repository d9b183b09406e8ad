"""Knowledge distillation from step 1's fine-tuned BERT into the configuration search and
re-training (`--DISTILL ALPHA`, `--TEMPERATURE T`).

The loss of steps 2 and 3 becomes

    (1 - ALPHA) * task loss on the labels + ALPHA * T^2 * KL(teacher_T || student_T)

where x_T is softmax(logits / T), the Hinton et al. (2015) form whose T^2 keeps the soft
targets' gradients on the scale of the labels'. A regression task (STS-B) uses the squared
error to the teacher's score instead of the KL term. The teacher is `finetune.hdf5`, scored
once on the training rows in inference mode; its outputs travel with the labels through the
training batches (`targets`), so a step costs what it cost without a teacher.

Example:
    >>> import numpy as np
    >>> loss = distillation_loss(alpha=0.5, temperature=2.0, regression=False)
    >>> targets = targets_with_teacher(np.array([1]), np.array([[0.2, 0.8]], "float32"))
    >>> round(float(loss(targets, np.array([[0.2, 0.8]], "float32"))[0]), 4)  # KL is 0
    0.1116
"""

import os
import time

import keras
import numpy as np
from keras import ops

from atomic_files import replaced_atomically
from errors import UserError
from scoring.evaluation import predict

TEACHER_OUTPUTS = "teacher_outputs.npy"
# ALPHA and T of `--DISTILL` given alone and of `--TEMPERATURE` not given: the one setting
# measured, on MRPC (README, "Distillation, judged over seeds"); no grid was searched.
DEFAULT_ALPHA = 0.5
DEFAULT_TEMPERATURE = 2.0
# Keras clips probabilities so in its cross-entropy; their logs here are the logits up to a
# constant per row, which softmax ignores.
_EPSILON = 1e-7


def distillation_loss(alpha, temperature, regression):
    """The loss function of a distilling step, for `model.compile`.

    Args:
        alpha: ALPHA, the weight of the teacher's term, in (0, 1].
        temperature: T > 0.
        regression: the task is STS-B (one score, squared errors).

    Returns:
        function(targets (b, 1 + outputs), model outputs (b, outputs)) -> (b,) losses, where
        targets are `targets_with_teacher`'s: the label, then the teacher's outputs.
    """
    if regression:
        def loss(targets, outputs):
            score = outputs[:, 0]
            return ((1 - alpha) * ops.square(targets[:, 0] - score)
                    + alpha * ops.square(targets[:, 1] - score))
        return loss

    def loss(targets, probabilities):
        labels = ops.cast(targets[:, 0], "int32")
        task_loss = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        teacher = _log(targets[:, 1:]) / temperature
        student = _log(probabilities) / temperature
        teacher_log = ops.log_softmax(teacher, axis=-1)
        kl = ops.sum(ops.exp(teacher_log) * (teacher_log - ops.log_softmax(student, axis=-1)),
                     axis=-1)
        return (1 - alpha) * task_loss + alpha * temperature ** 2 * kl
    return loss


def _log(probabilities):
    return ops.log(ops.clip(probabilities, _EPSILON, 1.0))


def targets_with_teacher(labels, teacher):
    """Each training row's label beside the teacher's outputs for it: (n, 1 + outputs) float32.

    Args:
        labels: (n,) class ids or scores.
        teacher: (n, outputs) the teacher's class probabilities, or (n, 1) scores.
    """
    return np.concatenate([np.asarray(labels, np.float32)[:, None],
                           np.asarray(teacher, np.float32)], axis=1)


def teacher_outputs(model, features, batch_size, padding, output_dir, log, fresh):
    """The teacher's outputs on the training rows: scored now, or read back on --RESUME.

    They are written to OUTPUT_DIR/teacher_outputs.npy, so that a resumed run distils from
    exactly the outputs the interrupted one used, whatever the machine it resumes on.

    Args:
        model: function() -> the fine-tuned BERT, loaded; called only if it must score.
        features: the training rows, `data.features.Features`.
        batch_size, padding: as for `scoring.evaluation.predict`.
        output_dir: the run's OUTPUT_DIR.
        log: function(line).
        fresh: step 1 has just run, so that a file left by an earlier fine-tuning is stale.

    Returns:
        (n, outputs) float32.
    """
    path = os.path.join(output_dir, TEACHER_OUTPUTS)
    if not fresh and os.path.isfile(path):
        outputs = read_teacher_outputs(path, len(features))
        log(f"Teacher: the fine-tuned BERT's outputs on the {len(outputs)} training rows, "
            f"read from {path} (--RESUME)")
        return outputs
    started = time.perf_counter()
    outputs = predict(model(), features, batch_size, padding).astype(np.float32)
    with replaced_atomically(path) as temp:
        with open(temp, "wb") as f:
            np.save(f, outputs)
    log(f"Teacher: the fine-tuned BERT scored the {len(outputs)} training rows in "
        f"{time.perf_counter() - started:.1f} s; wrote {path}")
    return outputs


def read_teacher_outputs(path, rows):
    """The teacher's outputs in `path`, checked to hold one row per training row.

    Raises:
        UserError: the file is not such an array.
    """
    fix = "delete it and run again with --RESUME, which scores the teacher again"
    try:
        outputs = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UserError(f"{path} is unreadable ({error}); {fix}") from None
    if outputs.ndim != 2 or len(outputs) != rows or not np.all(np.isfinite(outputs)):
        raise UserError(f"{path} holds {outputs.shape} values, not the teacher's outputs on "
                        f"{rows} training rows; {fix}")
    return outputs.astype(np.float32)
