"""Arbitrary bytes and rows into every TSV reader and the tokenizers: examples or UserError.

Whatever a user's file holds, the readers must either return well-formed examples or raise
the one clean `UserError` (which main.py prints as one line); never any other exception.
"""

import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.features import encode, encode_labels
from data.glue import SPLITS, read_examples, split_file_names
from data.tasks import TASKS
from errors import UserError
from tests.helpers import glue_column, train_sentencepiece
from tokenization import load_tokenizer

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
SEQ_LEN = 16
_LABELISH = ["0", "1", "2", "entailment", "not_entailment", "contradiction", "neutral", " 1 ",
             "3.8", "-0.5", "nan", "inf", "1e400", "", "\ufeff", '"', "\u00e9t\u00e9", "\x00"]
FIELDS = st.one_of(st.sampled_from(_LABELISH), st.text(max_size=12))
TASK_SPLITS = st.tuples(st.sampled_from(sorted(TASKS)), st.sampled_from(SPLITS))
# From docs/SPEC.md §4, independently of data/glue.py: (columns, label column) of train/dev rows and
# the columns of test rows; MNLI's label is the last of its columns.
# IMDB is in SST-2's layout (shared/imdb/README.md).
_SHAPES = {"cola": (4, 1, 2), "sst-2": (2, 1, 2), "imdb": (2, 1, 2), "mrpc": (5, 0, 5),
           "qqp": (6, 5, 3), "sts-b": (10, 9, 9), "mnli-m": (12, 11, 10), "mnli-mm": (12, 11, 10),
           "qnli": (4, 3, 3), "rte": (4, 3, 3)}


@st.composite
def well_formed_row(draw, task_name, split):
    """A row of the right width whose label (if any) is valid, with arbitrary text elsewhere."""
    columns, label_column, test_columns = _SHAPES[task_name]
    text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\t\r\n"),
                   max_size=12)
    if split == "test":
        return draw(st.lists(text, min_size=test_columns, max_size=test_columns + 1))
    fields = draw(st.lists(text, min_size=columns, max_size=columns))
    labels = TASKS[task_name].labels
    fields[label_column] = draw(st.sampled_from(labels) if labels else
                                st.floats(0, 5).map(str))
    return fields


@st.composite
def task_split_rows(draw):
    """(task, split, rows): rows mix well-formed ones with arbitrary lists of fields."""
    task_name, split = draw(TASK_SPLITS)
    row = st.one_of(well_formed_row(task_name, split), st.lists(FIELDS, max_size=13))
    return (task_name, split), draw(st.lists(row, max_size=6))


@pytest.fixture(scope="module")
def wordpiece(tmp_path_factory):
    vocab = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "a", "##s", "dog",
                                "\u00e9", "##t", "1", ","]) + "\n", encoding="utf-8")
    return load_tokenizer(str(vocab), cased=False)


@pytest.fixture(scope="module")
def sentencepiece_model(tmp_path_factory):
    sentences = glue_column("MRPC", "train", 3, True, 400)
    return train_sentencepiece(tmp_path_factory.mktemp("spm") / "fuzz", sentences,
                               vocab_size=300, control_symbols=["[CLS]", "[SEP]", "[MASK]"])


def _read(task_name, split, content):
    """Writes `content` (bytes) as the split's file and reads it: examples, or None on UserError."""
    task = TASKS[task_name]
    with tempfile.TemporaryDirectory() as data_dir:
        (Path(data_dir) / split_file_names(task, split)[0]).write_bytes(content)
        try:
            examples = read_examples(task, data_dir, split)
        except UserError as error:
            assert "\n" not in str(error)  # main.py's one line
            return task, None
    assert examples, "an empty file must be an error, not zero examples"
    for example in examples:
        assert isinstance(example.text_a, str)
        if split == "test":
            assert example.label is None
        elif task.is_regression:
            assert math.isfinite(example.label)
        else:
            assert example.label in task.labels
    return task, examples


@SETTINGS
@given(task_split_rows(), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_readers_take_arbitrary_rows(wordpiece, task_split_and_rows, newline, bom):
    task_split, rows = task_split_and_rows
    content = newline.join("\t".join(fields) for fields in rows).encode("utf-8")
    task, examples = _read(*task_split, b"\xef\xbb\xbf" * bom + content)
    if examples is not None:
        # Whatever was read, it must also encode.
        features = encode(examples, wordpiece, SEQ_LEN)
        assert features.token_ids.shape == (len(examples), SEQ_LEN)
        if task_split[1] != "test":
            assert len(encode_labels(examples, task)) == len(examples)


@SETTINGS
@given(TASK_SPLITS, st.binary(max_size=300))
def test_readers_take_arbitrary_bytes(task_split, content):
    _read(*task_split, content)


@SETTINGS
@given(st.binary(max_size=200), st.sampled_from(["vocab.txt", "30k-clean.model"]))
def test_tokenizer_files_of_arbitrary_bytes_load_or_fail_cleanly(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    try:
        tokenizer = load_tokenizer(str(path), cased=False)
    except UserError:
        return
    assert tokenizer.pad_id >= 0 and tokenizer.vocab_size > 0
    tokenizer.convert_tokens_to_ids(tokenizer.tokenize("a dog, 1999"))


@SETTINGS
@given(st.text(max_size=60), st.booleans())
def test_tokenizers_take_arbitrary_text(wordpiece, sentencepiece_model, text, cased):
    for tokenizer in (wordpiece, load_tokenizer(sentencepiece_model, cased)):
        tokens = tokenizer.tokenize(text)
        assert all(isinstance(token, str) and token for token in tokens)
        ids = tokenizer.convert_tokens_to_ids([tokenizer.cls_token, *tokens,
                                               tokenizer.sep_token])
        assert all(0 <= i < tokenizer.vocab_size for i in ids)
