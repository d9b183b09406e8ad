"""Step 1 alone, as a training run of its own: BERT fine-tuned with main.py's recipe into
OUTPUT_DIR/finetune.hdf5 (its best dev epoch), checked, locked, logged and recorded in
progress.json as main.py's training run is. The batches, the learning rate and its warm-up and
decay (over all the epochs) are main.py's step 1's; --RESUME goes on with a run that did not
finish from its last finished epoch, and refuses a finished one."""

import argparse

from checkpoints.load import load_weights
from data.glue import read_examples
from runs.output_dir import check_output_dir, locked_output_dir
from runs.run_config import resolve_flags
from training.log import RunLog
from training.progress import RunProgress, check_training_dir
from training.step_inputs import StepContext, TaskData
from training.steps import STEP_OUTPUTS, fine_tune, recorded_results_problem


# main.py's flags that step 1 does not read, at main.py's defaults (a training run of plain
# BERT); the search's LR_SOFT_EXTRACT and LAMBDA at 0, so that the log notes no default of theirs.
_NOT_READ = dict(EVAL_ONLY=False, PREDICT_ONLY=False, PRED_GLUE=False, RETENTION_CONFIG=None,
                 RETENTION_MODE=None, PADDING=None, LR_SOFT_EXTRACT=0.0, LAMBDA=0.0,
                 SEARCH_EPOCH=None, RETRAIN_EPOCH=None, DISTILL=0.0, TEMPERATURE=None,
                 MASS_PENALTY=None, DISTRIBUTE="none")


def step1_config(args):
    """The RunConfig of step 1 alone with `args` (as `fine_tune_alone` takes them), every
    default filled in, nothing run."""
    return resolve_flags(argparse.Namespace(**_NOT_READ, **vars(args)), args.OUTPUT_DIR)


def fine_tune_alone(args, heading):
    """Fine-tunes for EPOCH epochs into OUTPUT_DIR.

    Args:
        args: main.py's flags that step 1 reads (TASK, DATA_DIR, OUTPUT_DIR, EPOCH, SEED,
            RESUME, GROUP_BY_LENGTH, the model's, BATCH_SIZE, LR_BERT), as a namespace.
        heading: the log's first words, saying why step 1 runs alone.
    """
    config = step1_config(args)
    task, out, hp = config.task, config.output_dir, config.hp
    arguments = config.training_arguments()

    def check_dir():
        check_training_dir(out, arguments, config.resume, STEP_OUTPUTS[:1], lambda step, results:
                           recorded_results_problem(step, results,
                                                    config.bert_config.num_hidden_layers,
                                                    task.seq_len, hp.retention))

    check_output_dir(out, [])
    check_dir()
    data = TaskData.from_examples(task, *(read_examples(task, config.data_dir, split)
                                          for split in ("train", "dev")), config.tokenizer)
    with locked_output_dir(out, exclusive=True) as notes:
        check_dir()  # again: another run may have begun here since
        progress = RunProgress(out)
        if not config.resume:
            progress.start(arguments)
        log = RunLog(out)
        log(f"{heading}: step 1 alone, {hp.epochs} epochs, the best dev epoch kept; "
            f"{len(data.train)} training rows, batch {hp.batch_size}, LR_BERT {hp.lr_bert}, "
            f"SEED {hp.seed}, GROUP_BY_LENGTH {hp.group_by_length}")
        for note in notes + list(config.notes):
            log(note)
        metrics = fine_tune(StepContext(config.bert_config, task, data, hp, out, log),
                            lambda model: load_weights(
                                model, config.checkpoint_path, config.model_format,
                                config.bert_config, task.seq_len, optional=("NSP",)))
        progress.finish(STEP_OUTPUTS[0][0], metrics)
        log(f"epochs: BERT {hp.epochs} (step 1 alone, its best dev epoch kept)")
