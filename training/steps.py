"""The three training steps of PoWER-BERT: fine-tune, configuration search, re-train.

Weights go from step to step by layer name through the `.hdf5` files in OUTPUT_DIR:
`finetune.hdf5` (best epoch of step 1) -> `configuration_search_model.hdf5` (end of step 2)
-> `retrained.hdf5` (best epoch of step 3). Each file is written once, when its step ends, so
an interrupted step leaves no file under its name; `progress.json` then records the step, and
a resumed run (`--RESUME`) skips the steps recorded there and goes on with an interrupted one
from its last finished epoch (`training.epoch_state`).
"""

import dataclasses
import json

import keras

from checkpoints.assign import assign_weights
from checkpoints.hdf5 import model_record, read_hdf5_weights, write_hdf5_weights
from errors import UserError
from modeling.bert import build_model, soft_extract_layers
from modeling.flops import flop_reduction, mass_weights, reductions_against_both_baselines
from training.distillation import teacher_outputs
from training.epoch_state import EpochState
from training.fit import BestEpoch, compile_for_training, fit
from training.log import original_retention_line
from training.progress import RunProgress, epoch_state_file

FINETUNE = "finetune.hdf5"
SEARCH = "configuration_search_model.hdf5"
RETRAINED = "retrained.hdf5"
# (step name in progress.json, its output file), in running order.
STEP_OUTPUTS = (("fine-tuning", FINETUNE), ("configuration search", SEARCH),
                ("re-training", RETRAINED))


def fine_tune(context, load_initial):
    """Step 1: BERT + a fresh classifier, trained on the task; best epoch -> finetune.hdf5.

    Args:
        context: the run's `StepContext`.
        load_initial: function(model) that loads the starting weights (CHECKPOINT_PATH).

    Returns:
        The dev metrics of the best epoch, as floats.
    """
    config, task, data, hp = context.config, context.task, context.data, context.hp
    context.log("Step 1/3: fine-tuning")
    # Seeded per step, so that a step run again by --RESUME draws what it drew the first time.
    keras.utils.set_random_seed(hp.seed)
    with context.scope():
        model = build_model(config, task.seq_len, task.num_labels)
        load_initial(model)
        compile_for_training(model, task, hp, len(data.train))
    best = BestEpoch(task, data, hp, context.log, "Fine-tuning")
    state = _epoch_state(context, 1, best)
    fit(model, data, hp, [best], state=state)
    metrics = best.save(context.path(FINETUNE), model_record(task, hp.retention))
    state.discard()
    return metrics


def configuration_search(context):
    """Step 2: Soft-Extract in every block, from finetune.hdf5; returns the retention configuration.

    Retention parameters learn at LR_SOFT_EXTRACT, everything else at LR_BERT; the loss adds
    LAMBDA * w_j * sum(r_j) for block j, w_j = j (the paper's) or, with `hp.mass_penalty`
    "flops", the FLOPs a word kept by block j costs. With `hp.distills`, `data.teacher` holds
    the fine-tuned BERT's outputs on the training rows (`with_teacher`). Runs
    `hp.search_epochs` epochs where given, its learning rates decaying over them.

    Args:
        context: the run's `StepContext`.

    Returns:
        The `RetentionConfiguration` found, in `hp.retention`'s mode and padding.
    """
    config, task, data, log = context.config, context.task, context.data, context.log
    hp = dataclasses.replace(context.hp, epochs=context.hp.step_epochs[1])
    log(f"Step 2/3: configuration search, {_epochs(hp)}" + _distilling(hp))
    weights = mass_weights(config, task.seq_len) if hp.mass_penalty == "flops" else None
    if weights is not None:
        log("The mass penalty weights each block's mass by the FLOPs a word it keeps costs "
            f"(--MASS_PENALTY flops), not by j: {', '.join(f'{w:.3f}' for w in weights)}")
    keras.utils.set_random_seed(hp.seed)
    with context.scope():
        model = build_model(config, task.seq_len, task.num_labels, hp.retention,
                            search_lambda=hp.lambda_, mass_weights=weights)
        assign_weights(model, read_hdf5_weights(context.path(FINETUNE)),
                       optional=[layer.name for layer in soft_extract_layers(model)])
        compile_for_training(model, task, hp, len(data.train), retention_lr=hp.lr_soft_extract,
                             distill=hp.distills)
    state = _epoch_state(context, 2)
    fit(model, data, hp, distill=hp.distills, state=state)
    retention = hp.retention.derive([layer.r.numpy() for layer in soft_extract_layers(model)])
    # The search model records the configuration its retention parameters give.
    write_hdf5_weights(context.path(SEARCH), model,
                       model_record(task, retention, hp.distillation))
    state.discard()
    log(f"Retention Configuration : {retention}")
    log(original_retention_line(retention))
    log(flop_report(config, task, data.dev.lengths, retention))
    return retention


def flop_report(config, task, lengths, retention):
    """The log line of a configuration's FLOP reduction against both BERT baselines.

    Args:
        config, task: the model's `BertConfig` and `Task`.
        lengths: the real lengths of the dev set's rows.
        retention: the `RetentionConfiguration`.
    """
    real, padded = reductions_against_both_baselines(config, lengths, task.seq_len, retention,
                                                     task.num_labels)
    line = (f"FLOP reduction of this configuration on the dev set: {real:.2f}x against BERT "
            f"on real lengths, {padded:.2f}x against BERT padded to seq_len {task.seq_len}")
    if not retention.relative:  # the paper's number: both padded to seq_len
        paper = flop_reduction(config, task.seq_len, retention, task.num_labels)
        line += f"; {paper:.2f}x with both padded to seq_len (the paper's count)"
    return line


def retrain(context, retention):
    """Step 3: Extract layers at the retention configuration; best epoch -> retrained.hdf5.

    With `hp.distills`, learns from `data.teacher` as the configuration search does; runs
    `hp.retrain_epochs` epochs where given, its learning rate decaying over them.

    Args:
        context: the run's `StepContext`.
        retention: the `RetentionConfiguration` to re-train at.

    Returns:
        The dev metrics of the best epoch, as floats.
    """
    config, task, data, hp = context.config, context.task, context.data, context.hp
    hp = dataclasses.replace(hp, epochs=hp.step_epochs[2])
    context.log(f"Step 3/3: re-training, {_epochs(hp)}" + _distilling(hp))
    keras.utils.set_random_seed(hp.seed)
    with context.scope():
        model = build_model(config, task.seq_len, task.num_labels, retention)
        assign_weights(model, read_hdf5_weights(context.path(SEARCH)))
        compile_for_training(model, task, hp, len(data.train), distill=hp.distills)
    best = BestEpoch(task, data, hp, context.log, "Re-training")
    state = _epoch_state(context, 3, best)
    fit(model, data, hp, [best], distill=hp.distills, state=state)
    metrics = best.save(context.path(RETRAINED), model_record(task, retention, hp.distillation))
    state.discard()
    return metrics


def _epoch_state(context, number, best=None):
    """Step `number`'s `EpochState` in OUTPUT_DIR, valid for the arguments progress.json
    records and the results of the steps before it: a state left by a run of other arguments,
    or built on an earlier step's output that has since been made again differently, is not
    read."""
    progress = RunProgress(context.output_dir)
    name, output_file = STEP_OUTPUTS[number - 1]
    key = {"arguments": progress.arguments, "step": name,
           "before": [progress.record["steps"].get(step) for step, _ in STEP_OUTPUTS[:number - 1]]}
    return EpochState(context.path(epoch_state_file(output_file)), key, best, context.log)


def _epochs(hp):
    """How long a step trains, in words: "1 epoch", "3 epochs"."""
    return f"{hp.epochs} epoch{'s' * (hp.epochs != 1)}"


def _distilling(hp):
    return (f", distilling the fine-tuned BERT (ALPHA {hp.distill:g}, TEMPERATURE "
            f"{hp.temperature:g})" if hp.distills else "")


def with_teacher(context, fresh=True):
    """`context` with `data.teacher`: finetune.hdf5's outputs on the training rows (see
    `training.distillation.teacher_outputs`; `fresh`: step 1 has just written it)."""
    config, task, hp = context.config, context.task, context.hp

    def teacher():
        with context.scope():
            model = build_model(config, task.seq_len, task.num_labels)
            assign_weights(model, read_hdf5_weights(context.path(FINETUNE)))
        return model

    outputs = teacher_outputs(teacher, context.data.train, hp.batch_size, hp.padding,
                              context.output_dir, context.log, fresh)
    return dataclasses.replace(context, data=dataclasses.replace(context.data, teacher=outputs))


def recorded_results_problem(step, results, num_layers, seq_len, retention):
    """What in the results `progress.json` records for a step does not fit this run (it was
    edited by hand, or written for another model), or None if they fit.

    Args:
        step: the step's name, as in STEP_OUTPUTS.
        results: what the step returned: its dev metrics, or the configuration search's
            retention configuration (its values, a list).
        num_layers, seq_len: the model's blocks and the task's sequence length.
        retention: the run's `RetentionConfiguration` (`Hyperparameters.retention`).
    """
    if step == "configuration search":
        try:
            retention.parse_recorded(results, num_layers, seq_len)
        except UserError:
            kind = "shares" if retention.relative else f"word counts up to seq_len {seq_len}"
            return (f"its retention configuration {json.dumps(results)} is not {num_layers} "
                    f"non-increasing {kind}, one per block of the model")
        return None
    if not (isinstance(results, dict) and results and all(
            isinstance(value, (int, float)) and not isinstance(value, bool)
            for value in results.values())):
        return f"its {step} results {json.dumps(results)} are not dev metrics (name: number)"
    return None


def train_power_bert(context, load_initial):
    """Runs the three steps, skipping those `progress.json` records as finished.

    Each step is recorded in `progress.json` once its output file is complete; a step run
    again makes the later steps run again too (see `RunProgress`).

    Args:
        context: the run's `StepContext`.
        load_initial: function(model) that loads the starting weights (CHECKPOINT_PATH).

    Returns:
        (fine-tuned metrics, the `RetentionConfiguration` found, PoWER-BERT metrics).
    """
    progress = RunProgress(context.output_dir)
    ran = []

    def step(number, run):
        name, output_file = STEP_OUTPUTS[number - 1]
        results = progress.finished(name, output_file)
        if results is not None:
            context.log(f"Step {number}/3: {name} skipped: {output_file} is complete "
                        f"(--RESUME); recorded results: {results}")
            return results
        results = run()
        progress.finish(name, results)
        ran.append(number)
        return results

    finetuned = step(1, lambda: fine_tune(context, load_initial))
    if context.hp.distills and progress.finished(*STEP_OUTPUTS[2]) is None:
        context = with_teacher(context, fresh=1 in ran)
    # progress.json records the configuration's values, a list.
    values = step(2, lambda: list(configuration_search(context).values))
    retention = dataclasses.replace(context.hp.retention, values=values)
    retrained = step(3, lambda: retrain(context, retention))
    return finetuned, retention, retrained
