"""The flags that set up the model, declared once for main.py (command_line.py) and for
`python -m deploy.export`, which take them with the same meaning: what
`runs.model_setup.set_up_model` reads.

Only argparse here: both command lines answer `--help` and flag errors before TensorFlow loads.
"""

import argparse

from errors import UserError

# The model's files: an empty one is an error, never "flag not given".
MODEL_PATH_FLAGS = ("BERT_CONFIG_PATH", "CHECKPOINT_PATH", "VOCAB_PATH", "TASK_CONFIG_PATH")


class Parser(argparse.ArgumentParser):
    """argparse's parser whose errors are UserErrors (one line on stderr, exit status 2),
    pointing to the command's --help."""

    def error(self, message):
        raise UserError(f"{message}; see {self.prog} --help")


def add_model_flags(parser, trained_checkpoint=False):
    """Declares the flags of the task and the model on `parser`.

    Args:
        parser: the command line's parser.
        trained_checkpoint: the command needs a trained model (the export): --CHECKPOINT_PATH
            must be given, as the embedded MiniLM has no task's classifier.
    """
    parser.add_argument("--TASK", required=True,
                        help="cola, rte, sst-2, qnli, mrpc, mnli-m, mnli-mm, qqp or sts-b")
    parser.add_argument("--BERT_CONFIG_PATH",
                        help="bert_config.json (default: the embedded MiniLM)")
    parser.add_argument("--CHECKPOINT_PATH", required=trained_checkpoint, help=(
        "the trained model: retrained.hdf5, or a fine-tuned checkpoint" if trained_checkpoint
        else "Google checkpoint prefix (bert_model.ckpt) or .hdf5 file (default: the embedded "
             "MiniLM)"))
    parser.add_argument("--VOCAB_PATH",
                        help="WordPiece vocab.txt, or SentencePiece .model for ALBERT")
    parser.add_argument("--CASED", action="store_true", help="the model is cased")
    parser.add_argument("--TASK_CONFIG_PATH", help="JSON overriding the task's seq_len")
    parser.add_argument("--MODEL_FORMAT", type=str.upper, choices=("CKPT", "HDF5"),
                        help="format of --CHECKPOINT_PATH (default: HDF5 for .hdf5/.h5, else "
                             "CKPT)")
    parser.add_argument("--RETENTION_CONFIG",
                        help="word vectors kept per block, e.g. 128,128,64,64,32,32 (evaluation, "
                             "prediction and export; default: the configuration an .hdf5 of ours "
                             "records, else all)")
    parser.add_argument("--RETENTION_MODE", choices=("absolute", "relative"),
                        help="absolute: l_j word vectors per block (the original); relative: a "
                             "share f_j in (0, 1] of each input's own length, e.g. "
                             "--RETENTION_CONFIG 0.9,0.7,0.5,0.3,0.2,0.1. Default: relative if "
                             "--RETENTION_CONFIG holds shares, else what an .hdf5 file of this "
                             "project was trained with, else absolute")
    parser.add_argument("--PADDING", choices=("batch", "seq_len"),
                        help="batch: pad each batch to its longest input, only real words vote "
                             "in the significance score; seq_len: pad every input to seq_len, "
                             "padding votes (the original PoWER-BERT). Default: batch for "
                             "relative retention, else what an .hdf5 file of this project was "
                             "trained with, seq_len for an .hdf5 file that the original wrote, "
                             "else batch")


def check_path_flags(args, flags, required=()):
    """An empty path is what "$UNSET_VARIABLE" gives: an error, never "flag not given".

    Args:
        args: the parsed flags.
        flags: the names of the path flags to check, e.g. MODEL_PATH_FLAGS.
        required: those of `flags` that the command cannot do without.
    """
    for flag in flags:
        value = getattr(args, flag)
        if value is not None and not value.strip():
            raise UserError(f"--{flag} is empty (an unset shell variable?); give a path"
                            + ("" if flag in required else " or leave the flag out"))
