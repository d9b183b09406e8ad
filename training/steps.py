"""The three training steps of PoWER-BERT: fine-tune, configuration search, re-train.

Weights go from step to step by layer name through the `.hdf5` files in OUTPUT_DIR:
`finetune.hdf5` (best epoch of step 1) -> `configuration_search_model.hdf5` (end of step 2)
-> `retrained.hdf5` (best epoch of step 3). Each file is written once, when its step ends, so
an interrupted step leaves no file under its name; `progress.json` then records the step, and
a resumed run (`--RESUME`) skips the steps recorded there.
"""

import dataclasses
import json
import os

import keras
import tensorflow as tf

from checkpoints.assign import assign_weights
from checkpoints.hdf5 import model_record, read_hdf5_weights, write_hdf5_weights
from errors import UserError
from extract_layers import (derive_relative_configuration, derive_retention_configuration,
                            parse_recorded_configuration)
from modeling.bert import build_model, soft_extract_layers
from modeling.flops import flop_reduction, mass_weights, reductions_against_both_baselines
from training.distillation import teacher_outputs
from training.fit import BestEpoch, compile_for_training, fit
from training.log import original_retention_line
from training.progress import RunProgress

FINETUNE = "finetune.hdf5"
SEARCH = "configuration_search_model.hdf5"
RETRAINED = "retrained.hdf5"
# (step name in progress.json, its output file), in running order.
STEP_OUTPUTS = (("fine-tuning", FINETUNE), ("configuration search", SEARCH),
                ("re-training", RETRAINED))


def _scope(strategy):
    """Variables and the optimizer are created under the strategy's scope."""
    return (strategy or tf.distribute.get_strategy()).scope()


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
    fit(model, data, hp, [best])
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
    fit(model, data, hp, distill=hp.distills)
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
    fit(model, data, hp, [best], distill=hp.distills)
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
