"""main.py's three runs: train (fine-tune, configuration search, re-train), evaluate, predict.

Each one reads and checks all it needs, and only then locks OUTPUT_DIR and writes there: a
wrong input leaves OUTPUT_DIR as it was.
"""

import gc
import os
import time

from checkpoints.load import load_weights
from data.batches import chunked, in_input_order
from data.features import encode, encode_labels, truncation_note
from data.glue import read_examples
from data.predictions import prediction_files, prediction_writer
from data.readers import stream_examples
from modeling.bert import build_model
from modeling.flops import reductions_against_both_baselines
from runs.output_dir import locked_output_dir
from scoring import evaluation
from training.distillation import TEACHER_OUTPUTS
from training.log import LOG_FILE, RunLog
from training.plots import (RETENTION_PNG, SURVIVING_TEXT_PNG, SURVIVING_WORDS_PNG,
                            plot_training_outputs)
from training.progress import RunProgress, check_training_dir
from training.step_inputs import StepContext, TaskData
from training.steps import (RETRAINED, STEP_OUTPUTS, recorded_results_problem,
                            train_power_bert)


def files_replaced(config):
    """The files of OUTPUT_DIR the run writes whole (training's steps' outputs excepted: a new
    training run refuses a folder holding any of them, see `check_training_dir`).

    Args:
        config: the RunConfig.
    """
    if config.mode == "predict":
        return prediction_files(config.task, config.pred_glue)
    return [] if config.mode == "evaluate" else [RETENTION_PNG, SURVIVING_WORDS_PNG,
                                                       SURVIVING_TEXT_PNG]


def train(config, strategy, held):
    """Fine-tunes, searches the retention configuration and re-trains (docs/SPEC.md §2), or resumes.

    Args:
        config: the RunConfig.
        strategy: the tf.distribute strategy.
        held: an ExitStack open to the end of the run; it takes the OUTPUT_DIR lock.
    """
    task, out = config.task, config.output_dir
    notes = list(config.notes)
    train_examples, dev = (_read_split(config, split, notes) for split in ("train", "dev"))
    optional_layers = ("NSP",)
    # Step 1 loads the checkpoint only once the run has begun: try it now, so that a
    # checkpoint that does not fit the config is reported before OUTPUT_DIR is touched.
    load_weights(build_model(config.bert_config, task.seq_len, task.num_labels),
                 config.checkpoint_path, config.model_format, config.bert_config, task.seq_len,
                 optional=optional_layers)
    arguments = config.training_arguments()

    def check_dir():
        check_training_dir(out, arguments, config.resume, STEP_OUTPUTS, lambda step, results:
                           recorded_results_problem(step, results,
                                                    config.bert_config.num_hidden_layers,
                                                    task.seq_len, config.hp.retention))

    check_dir()
    notes += held.enter_context(locked_output_dir(out, exclusive=True))
    # Again, now that no other run can start here: one may have started since the check above
    # (which refuses a folder in use by a finished or interrupted run without touching it).
    check_dir()
    data = TaskData.from_examples(task, train_examples, dev, config.tokenizer)

    def load_initial(model):
        fresh = load_weights(model, config.checkpoint_path, config.model_format,
                             config.bert_config, task.seq_len, optional=optional_layers)
        if fresh:
            log(f"Starting from {config.checkpoint_path}; new layers: {', '.join(fresh)}")

    if not config.resume:
        RunProgress(out).start(arguments)
    log = _start_log(config, notes)
    log(f"Training on {len(train_examples)} examples, scoring on {len(dev)} dev examples; "
        f"seq_len {task.seq_len}, metric {task.metric}")
    for split, features in (("training", data.train), ("dev", data.dev)):
        _log_truncation(log, features, split, task.seq_len)
    finetuned, retention, retrained = train_power_bert(
        StepContext(config.bert_config, task, data, config.hp, out, log, strategy), load_initial)
    model = build_model(config.bert_config, task.seq_len, task.num_labels, retention)
    load_weights(model, os.path.join(out, RETRAINED), "HDF5", config.bert_config, task.seq_len)
    pictures = plot_training_outputs(out, config.bert_config, task, retention, model, data.dev,
                                     config.tokenizer)
    for path in pictures:
        log(f"Wrote {path}")
    for line in summary_lines(config, data.dev.lengths, finetuned, retention, retrained,
                              pictures):
        log(line)


def summary_lines(config, dev_lengths, finetuned, retention, retrained, pictures):
    """The run's last lines: BERT's and PoWER-BERT's dev metrics side by side, the epochs
    each had, the ideal speedup against both BERT baselines, the files written.

    Args:
        config: the RunConfig.
        dev_lengths: the real lengths of the dev rows.
        finetuned, retrained: the dev metrics of step 1's and step 3's best epochs.
        retention: the `RetentionConfiguration` found.
        pictures: the paths of the pictures written.
    """
    task = config.task
    names = [name for name in finetuned if name != "loss"]
    width = max(len(name) for name in names)
    real, padded = reductions_against_both_baselines(
        config.bert_config, dev_lengths, task.seq_len, retention, task.num_labels)
    lines = [f"Done. On the {len(dev_lengths)} dev rows:",
             f"  {'':{width}}  {'BERT':>8}  {'PoWER-BERT':>10}  change"]
    lines += [f"  {name:{width}}  {100 * finetuned[name]:8.2f}  {100 * retrained[name]:10.2f}  "
              f"{100 * (retrained[name] - finetuned[name]):+.2f}" for name in names]
    fine_tuning, search, retraining = config.hp.step_epochs
    # Not equal budgets: the BERT column is step 1's best epoch, which PoWER-BERT starts from.
    lines.append(f"  epochs: BERT {fine_tuning} (step 1); PoWER-BERT {fine_tuning} + {search} "
                 f"(search) + {retraining} (re-training) = {fine_tuning + search + retraining}")
    lines.append(f"  ideal speedup (BERT's FLOPs over PoWER-BERT's): {real:.2f}x over BERT on "
                 f"real lengths (length-aware batches), {padded:.2f}x over BERT padded to "
                 f"seq_len {task.seq_len}; python -m benchmarks.inference times it")
    files = [os.path.join(config.output_dir, name) for name in (
        *(file for _, file in STEP_OUTPUTS), LOG_FILE,
        *([TEACHER_OUTPUTS] if config.hp.distills else []))] + list(pictures)
    return lines + ["  files written:"] + [f"    {path}" for path in files]


def evaluate(config, strategy, held):
    """Scores the dev rows with the checkpoint at its retention configuration; Args as
    `train`'s."""
    notes = list(config.notes)
    examples = _read_split(config, "dev", notes)
    model, log = _start_inference(config, notes, strategy, held)
    features = encode(examples, config.tokenizer, config.task.seq_len)
    _log_truncation(log, features, "dev", config.task.seq_len)
    metrics = evaluation.evaluate(model, config.task, features,
                                  encode_labels(examples, config.task), config.batch_size,
                                  config.retention.padding, verbose=1)
    log(f"loss : {metrics['loss']}")
    if "accuracy" in metrics:
        log(f"accuracy : {100 * metrics['accuracy']}")
    log(f"dev metrics over all {len(examples)} examples: "
        f"{evaluation.format_metrics(metrics)}")


# Test rows encoded and predicted at a time: a chunk of 512-long inputs takes 100 MB, and
# the test file may be larger than memory.
CHUNK_ROWS = 16384


def predict(config, strategy, held):
    """Writes prediction.txt for the test rows, with --PRED_GLUE the GLUE server's file, and
    for a user task predicted_labels.txt; the rows stream through a chunk at a time. Args as
    `train`'s."""
    task = config.task
    notes = list(config.notes)
    rows = _test_rows(config, notes)
    model, log = _start_inference(config, notes, strategy, held)
    total = truncated = 0
    with prediction_writer(task, config.output_dir, config.pred_glue) as write:
        for chunk in chunked(rows(), CHUNK_ROWS):
            features = encode(chunk, config.tokenizer, task.seq_len)
            # The first chunk's line says what tracing the model costs; later ones add nothing.
            outputs = timed_predictions(model, features, config.batch_size,
                                        config.retention.padding,
                                        log if not total else None)
            write(chunk, outputs)
            total, truncated = total + len(chunk), truncated + features.truncated
    note = truncation_note(truncated, total, "test", task.seq_len)
    if note:
        log(note)
    log(f"Wrote {total} predictions to " + ", ".join(
        os.path.join(config.output_dir, name) for name in files_replaced(config)))


def timed_predictions(model, features, batch_size, padding, log):
    """Predicts every row; logs the time of the first batch (which traces the model) apart,
    unless `log` is None."""
    started = time.perf_counter()
    batches = evaluation.predict_batches(model, features, batch_size, padding, verbose=1)
    outputs = [next(batches)]
    first = time.perf_counter()
    outputs.extend(batches)
    done = time.perf_counter()
    rest = len(features) - len(outputs[0][0])
    if log is None:
        return in_input_order(outputs)
    log(f"Predicted {len(features)} rows in {done - started:.2f} s, batch {batch_size}, "
        f"padding {padding}: the first batch (tracing the model, then running it) "
        f"{first - started:.2f} s, the other {rest} rows {done - first:.2f} s "
        f"({rest / max(done - first, 1e-9):.1f} examples/s)")
    return in_input_order(outputs)


def _start_inference(config, notes, strategy, held):
    """Builds and loads the fine-tuned model, then shares the OUTPUT_DIR lock and starts the
    log (the rows are read and checked before: bad data writes nothing).

    Returns:
        (the model, the RunLog).
    """
    with strategy.scope():
        model = config.build_classifier("evaluate")
    notes += held.enter_context(locked_output_dir(config.output_dir, exclusive=False))
    log = _start_log(config, notes)
    log(f"Retention Configuration : {config.retention}")
    settle_for_inference(held)
    return model, log


def _test_rows(config, notes):
    """Checks every test row; returns a function that gives them again, one at a time.

    A user task's test file is read twice, to check and then to predict, so that it never
    has to fit in memory; one that cannot be read twice (a named pipe) is held in memory.
    """
    if config.task.source is None:
        examples = _read_split(config, "test", notes)
        return lambda: examples
    path, rows = stream_examples(config.task, config.data_dir, "test")
    if not os.path.isfile(path):
        examples = list(rows)
        return lambda: examples
    for _ in rows:
        pass
    return lambda: stream_examples(config.task, config.data_dir, "test")[1]


def settle_for_inference(held):
    """Sets up this process for an evaluation or prediction run, undone when `held` closes.

    - What is loaded so far lives to the end of the run: frozen out of the garbage
      collector's reach, its full collections no longer walk the model, a large share of
      the time that tracing the forward pass takes (`python -m benchmarks.first_batch`
      measures it). Thawed at the end, so that a caller in the same process (tests, a
      notebook) can collect the model again.
    - Grappler is off, on CPU: its rewrites of the forward pass's graph cost time at the
      first batch, the more so in PoWER-BERT, whose Extract layers add nodes, and made the
      other batches no faster that we could measure. Left on where a GPU is visible, where
      we did not measure.

    Args:
        held: an ExitStack open to the end of the run.
    """
    import tensorflow as tf

    gc.freeze()
    held.callback(gc.unfreeze)
    if tf.config.list_physical_devices("GPU"):
        return
    before = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer",
                                                                 False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    held.callback(tf.config.optimizer.set_experimental_options,
                  {"disable_meta_optimizer": before})


def _log_truncation(log, features, split, seq_len):
    note = features.truncation_note(split, seq_len)
    if note:
        log(note)


def _read_split(config, split, notes):
    """Reads one split, noting skipped short rows (GLUE's own QQP files have some) and a
    user task's dev rows held out of train."""
    examples = read_examples(config.task, config.data_dir, split)
    if examples.note and examples.note not in notes:  # train and dev: one note
        notes.append(examples.note)
    if examples.skipped_rows:
        notes.append(f"skipped {examples.skipped_rows} short rows of {examples.path}, as GLUE's "
                     "own QQP files have them")
    return examples


def _start_log(config, notes):
    """Opens OUTPUT_DIR's log; writes the flags and the notes on defaults and skipped rows."""
    log = RunLog(config.output_dir)
    log("Arguments: " + " ".join(f"--{flag}={value}" for flag, value in config.flags))
    for note in notes:
        log(note)
    return log
