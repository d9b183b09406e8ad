"""A training run read back from what it recorded in its OUTPUT_DIR (progress.json): whether it
is complete, its steps' results, its epochs, and the ideal speedup of the configuration found."""

import dataclasses
import functools

from data.features import encode
from data.glue import read_examples
from data.tasks import get_task
from extract_layers import RetentionConfiguration
from modeling.config import load_config
from modeling.flops import reductions_against_both_baselines
from tokenization import load_model_tokenizer
from training.progress import RunProgress
from training.step_inputs import power_bert_epochs
from training.steps import STEP_OUTPUTS


class RecordedRun:
    """The training run in `output_dir`, as its progress.json records it now.

    Args:
        output_dir: its OUTPUT_DIR.
        steps: how many of main.py's steps it runs: 3, or 1 for step 1 alone
            (`runs.fine_tune_alone`).
    """

    def __init__(self, output_dir, steps=3):
        self.step_outputs = STEP_OUTPUTS[:steps]
        self.progress = RunProgress(output_dir)
        self.arguments = self.progress.arguments

    def complete(self):
        """Whether every step is recorded, with its output file there."""
        return all(self.progress.finished(step, file) is not None
                   for step, file in self.step_outputs)

    def results(self, step=None):
        """The recorded results of `step` (default: the last): dev metrics, or the
        configuration search's retention configuration."""
        return self.progress.record["steps"][step or self.step_outputs[-1][0]]

    def epochs(self):
        """Its training epochs in all, as main.py's last lines count them: step 1's; with
        steps 2 and 3, the search's and re-training's (SEARCH_EPOCH and RETRAIN_EPOCH, each
        else as many)."""
        epochs = power_bert_epochs(*(self.arguments.get(flag) for flag in (
            "EPOCH", "SEARCH_EPOCH", "RETRAIN_EPOCH")))
        return sum(epochs[:len(self.step_outputs)])

    def ideal_speedups(self):
        """The FLOP reduction of the configuration found on the dev rows the run scored,
        tokenized as it did: (over BERT on real lengths, over BERT padded to seq_len)."""
        arguments = self.arguments
        lengths = _dev_lengths(*(arguments[key] for key in (
            "BERT_CONFIG_PATH", "VOCAB_PATH", "CASED", "TASK", "seq_len", "DATA_DIR")))
        retention = RetentionConfiguration(self.results("configuration search"),
                                           arguments["RETENTION_MODE"], arguments["PADDING"])
        return reductions_against_both_baselines(
            load_config(arguments["BERT_CONFIG_PATH"]), lengths, arguments["seq_len"],
            retention, get_task(arguments["TASK"]).num_labels)


@functools.lru_cache(maxsize=None)
def _dev_lengths(bert_config_path, vocab_path, cased, task_name, seq_len, data_dir):
    """The real lengths of a built-in task's dev rows, tokenized and cut as a run with these
    arguments did."""
    tokenizer = load_model_tokenizer(vocab_path, cased, load_config(bert_config_path).vocab_size,
                                     bert_config_path)
    task = dataclasses.replace(get_task(task_name), seq_len=seq_len)
    return encode(read_examples(task, data_dir, "dev"), tokenizer, seq_len).lengths
