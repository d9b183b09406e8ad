"""What a trade-off sweep (benchmarks.tradeoff) starts from besides its own steps: the
pre-trained checkpoint (step 1), an earlier sweep's configuration search (--searched), and the
BERT at an equal budget that a run's accuracy is judged against (--equal-budget-bert)."""

import dataclasses
import os

EQUAL_BUDGET_DIR = "bert_equal_budget"


def pre_trained(context, checkpoint):
    """Step 1's start: loads the pre-trained `checkpoint` into a model of `context`'s."""
    from checkpoints.load import load_weights

    return lambda model: load_weights(model, checkpoint, "CKPT", context.config,
                                      context.task.seq_len, optional=("NSP",))


def equal_budget_bert(context, checkpoint):
    """BERT fine-tuned alone from `checkpoint` for as many epochs as a run of the sweep has in
    its three steps, its best dev epoch kept, in `context`'s OUTPUT_DIR/bert_equal_budget (run
    again, not trained again): its dev metrics. Issue 35's rule: PoWER-BERT's accuracy is
    judged against a BERT that had at least its training."""
    from training.progress import step_once
    from training.steps import STEP_OUTPUTS, fine_tune

    hp = dataclasses.replace(context.hp, epochs=sum(context.hp.step_epochs), search_epochs=None,
                             retrain_epochs=None, lambda_=None, distill=0.0)
    bert = dataclasses.replace(context, hp=hp,
                               output_dir=os.path.join(context.output_dir, EQUAL_BUDGET_DIR))
    os.makedirs(bert.output_dir, exist_ok=True)
    context.log(f"BERT at an equal budget: step 1 alone, {hp.epochs} epochs, in "
                f"{bert.output_dir}")
    arguments = {"task": context.task.name, "rows": context.data.digest(),
                 "initial": checkpoint, "hyperparameters": repr(hp)}
    return step_once(bert.output_dir, arguments, *STEP_OUTPUTS[0],
                     lambda: fine_tune(bert, pre_trained(bert, checkpoint)), context.log)


def earlier_search(run_dir, retention, task, config):
    """The configuration search model of an earlier sweep's run folder and the retention
    configuration it records, checked to be of `retention`'s mode and of `task` and to fit
    `config`.

    Args:
        run_dir: the earlier run's folder.
        retention: the run's `RetentionConfiguration` (its mode and padding), without values.
        task, config: the run's `Task` and `BertConfig`.

    Returns:
        (the search model's path, `retention` with the values it records).

    Raises:
        UserError: there is no such file, it records another mode or task, or a
            configuration that does not fit the model.
    """
    from checkpoints.hdf5 import read_hdf5_metadata
    from errors import UserError
    from training.steps import SEARCH

    path = os.path.join(run_dir, SEARCH)
    fix = ("give --searched the OUTPUT_DIR of a sweep that ran the same LAMBDAs and seeds, or "
           "drop it to search again")
    record = read_hdf5_metadata(path, fix) or {}
    values = record.get("retention_configuration")
    if (values is None or record.get("retention_mode") != retention.mode
            or record.get("task") != task.name):
        raise UserError(f"{path} records no {retention.mode} retention configuration for "
                        f"{task.name}: {fix}")
    return path, retention.parse_recorded(values, config.num_hidden_layers, task.seq_len)
