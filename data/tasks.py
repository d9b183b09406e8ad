"""The task table: the nine GLUE tasks of the original PoWER-BERT, IMDB's long reviews, and
`--TASK_CONFIG_PATH`, whose entries set a built-in task's seq_len or define a task of the
user's own data (data/user_tasks.py)."""

import dataclasses
import json

from data.task_row import MIN_SEQ_LEN, Task
from data.user_tasks import SOURCE_KEYS, user_task
from errors import UserError
from text_files import read_text

# The embedded MiniLM's recipe for steps 1-3, measured on MRPC and carried over unchanged to
# the other tasks that have one, so that one rule makes every row of the paper's table. Step 1
# at the original's 64 rows x 3 epochs at 6e-5 (174 steps) learned little: 73.53 / 83.07 dev
# accuracy / F1 on MRPC, where always answering "paraphrase" gives 68. Hugging Face's budget,
# 32 rows x 5 epochs at 5e-5, is what its recipe reaches 81 with
# (benchmarks/results/mrpc_minilm_step1_recipe.md). Steps 2 and 3 take 2 epochs each, so that
# the README's first command takes about 15 minutes on 2 cores with step 1 at that budget
# (benchmarks/results/mrpc_quick_start_time.md); a 1-epoch search at LR_SOFT_EXTRACT 0.02
# cannot cut deep, and at the original's 0.003 the search barely moves.
EMBEDDED_RECIPE = {"lr_bert": 5e-5, "batch_size": 32, "epochs": 5, "search_epochs": 2,
                   "retrain_epochs": 2, "lr_soft_extract": 0.02}


def _embedded(lambda_):
    """The embedded MiniLM's defaults for a task: the recipe, and the task's LAMBDA, chosen
    for relative retention on rows held out from train by the paper's rule
    (benchmarks.choose_lambda; benchmarks/results/<task>_lambda_choice.md)."""
    return {**EMBEDDED_RECIPE, "lambda_": lambda_}


_BINARY = ("0", "1")
_NLI = ("not_entailment", "entailment")

TASKS = {task.name: task for task in (
    Task("cola", 64, _BINARY, "mcc", "CoLA.tsv", 2e-5, 1.5e-3, 7e-3, 32,
         embedded=_embedded(0.00005)),
    Task("rte", 256, _NLI, "accuracy", "RTE.tsv", 3e-5, 3e-3, 1e-3, 16),
    Task("qqp", 128, _BINARY, "f1", "QQP.tsv", 3e-5, 1e-4, 3e-4, 64),
    Task("mrpc", 128, _BINARY, "f1", "MRPC.tsv", 6e-5, 3e-3, 3e-3, 64, embedded=_embedded(0.0006)),
    Task("sst-2", 64, _BINARY, "accuracy", "SST-2.tsv", 3e-5, 5e-4, 2e-4, 64,
         embedded=_embedded(0.00005)),
    Task("mnli-m", 128, ("contradiction", "entailment", "neutral"), "accuracy", "MNLI-m.tsv",
         3e-5, 2e-4, 1e-4, 64),
    Task("mnli-mm", 128, ("contradiction", "entailment", "neutral"), "accuracy", "MNLI-mm.tsv",
         3e-5, 1e-4, 1e-4, 64),
    Task("qnli", 128, _NLI, "accuracy", "QNLI.tsv", 3e-5, 2e-4, 1.5e-4, 16),
    Task("sts-b", 64, (), "spearman", "STS-B.tsv", 3e-5, 3e-3, 1e-3, 64,
         embedded=_embedded(0.00004)),
    # Large Movie Review Dataset (Maas et al., 2011) in SST-2's layout; reviews run to
    # hundreds of word pieces, so 512, as TR-BERT evaluates it.
    Task("imdb", 512, _BINARY, "accuracy", None, 5e-5, 2e-2, 2e-4, 16,
         embedded=_embedded(0.00005)),
)}


def describe_outputs(count):
    """A classifier's outputs in words, e.g. "2 classes", for messages on models that do not
    fit their task.

    Args:
        count: the classifier's outputs, a `Task.num_labels`.
    """
    return "one score (a regression, as sts-b)" if count == 1 else f"{count} classes"


def get_task(name, task_config_path=None, data_dir=None):
    """Looks up a task: a built-in one, its seq_len overridden by a task configuration file,
    or one that an entry of that file defines.

    Args:
        name: the `--TASK` value (case does not matter).
        task_config_path: optional JSON file like the original's task_config.json,
            `{"mrpc": {"seq_len": 128}, ...}`; "max_seq_length" is accepted for "seq_len".
            Built-in tasks absent from the file keep the default seq_len; other keys (the
            original's class counts) are ignored, since the task fixes its classes. An
            entry with a "train" file defines a task (`data.user_tasks.user_task`).
        data_dir: DATA_DIR, where a user task whose entry gives no "labels" reads train's.

    Returns:
        The `Task`.

    Raises:
        UserError: unknown task name, unreadable or malformed configuration file, an entry
            that defines a task under a built-in task's name.
    """
    key = str(name).strip().lower()
    entries = {} if task_config_path is None else _entries(task_config_path)
    if key not in TASKS:
        if key in entries:
            return user_task(key, entries[key], task_config_path, data_dir)
        defined = "" if not entries else \
            f"; or define it in {{task_config}} {task_config_path} (see docs/own-data.md)"
        raise UserError(f"{{task}} {name!r} is not a known task; use one of: "
                        f"{', '.join([*TASKS, *(k for k in entries if k not in TASKS)])}{defined}")
    task = TASKS[key]
    if key not in entries:
        return task
    seq_len = _configured_seq_len(key, entries[key], task_config_path)
    return dataclasses.replace(task, seq_len=seq_len)


def _entries(path):
    """The configuration file's entries, {task name in lower case: entry}."""
    text = read_text(path, "{task_config}", "give an existing JSON file")
    try:
        config = json.loads(text)
    except ValueError as e:
        raise UserError(f"{{task_config}} {path} is not valid JSON ({e}); fix the file") from e
    if not isinstance(config, dict):
        raise UserError(f"{{task_config}} {path} must hold a JSON object like "
                        '{"mrpc": {"seq_len": 128}}')
    return {str(k).strip().lower(): v for k, v in config.items()}


def _configured_seq_len(key, entry, path):
    """The seq_len a configuration file's entry gives built-in task `key`."""
    if isinstance(entry, dict) and any(k in entry for k in SOURCE_KEYS):
        raise UserError(f"{{task_config}} {path}: the entry for {key!r} defines a task, but "
                        f"{key} is a built-in task; give your task another name")
    given = [entry[k] for k in ("seq_len", "max_seq_length") if k in entry] \
        if isinstance(entry, dict) else []
    if not given or any(value != given[0] for value in given):
        raise UserError(f"{{task_config}} {path}: the entry for {key!r} needs one "
                        f'"seq_len" value, like {{"{key}": {{"seq_len": 128}}}}')
    seq_len = given[0]
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < MIN_SEQ_LEN:
        raise UserError(f"{{task_config}} {path}: seq_len of {key!r} is {seq_len!r}; "
                        f"it must be a whole number of at least {MIN_SEQ_LEN}")
    return seq_len
