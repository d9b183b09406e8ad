"""scoring/metrics.py against scipy and hand-written confusion-matrix formulas."""

import warnings

import numpy as np
import pytest
from scipy import stats

import main
from data.predictions import glue_prediction_label
from data.tasks import TASKS
from scoring.metrics import glue_metrics, primary_metric
from tests.helpers import make_tiny_run
from training.log import RunLog, warnings_and_error_into_log


def _probabilities(rng, n, classes):
    logits = rng.normal(size=(n, classes))
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def _confusion(labels, predictions):
    tp = np.sum((predictions == 1) & (labels == 1))
    tn = np.sum((predictions == 0) & (labels == 0))
    fp = np.sum((predictions == 1) & (labels == 0))
    fn = np.sum((predictions == 0) & (labels == 1))
    return tp, tn, fp, fn


@pytest.mark.parametrize("seed", range(5))
def test_f1_for_mrpc_and_qqp(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300)
    outputs = _probabilities(rng, 300, 2)
    tp, tn, fp, fn = _confusion(labels, outputs.argmax(1))
    for task in ("mrpc", "qqp"):
        result = glue_metrics(TASKS[task], labels, outputs)
        assert result["accuracy"] == pytest.approx((tp + tn) / 300)
        assert result["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
        assert primary_metric(TASKS[task], result) == result["f1"]


@pytest.mark.parametrize("seed", range(5))
def test_mcc_for_cola(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500)
    outputs = _probabilities(rng, 500, 2)
    outputs[:, 1] += 0.5 * labels  # some signal, so the MCC is not ~0
    tp, tn, fp, fn = (float(c) for c in _confusion(labels, outputs.argmax(1)))
    mcc = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    result = glue_metrics(TASKS["cola"], labels, outputs)
    assert set(result) == {"accuracy", "mcc"}
    assert result["mcc"] == pytest.approx(mcc) and mcc > 0.1
    assert primary_metric(TASKS["cola"], result) == result["mcc"]


def test_constant_predictions_score_zero_not_nan():
    labels = np.array([0, 1, 1, 0])
    always_one = np.tile([0.2, 0.8], (4, 1))
    assert glue_metrics(TASKS["cola"], labels, always_one)["mcc"] == 0.0
    assert glue_metrics(TASKS["mrpc"], labels, 1 - always_one)["f1"] == 0.0
    result = glue_metrics(TASKS["sts-b"], np.array([1.0, 2.0, 3.0]), np.full(3, 2.5))
    assert result == {"pearson": 0.0, "spearman": 0.0}


@pytest.mark.parametrize("task", ["mnli-m", "mnli-mm", "qnli", "rte", "sst-2"])
def test_accuracy(task):
    rng = np.random.default_rng(1)
    classes = TASKS[task].num_labels
    labels = rng.integers(0, classes, 200)
    outputs = _probabilities(rng, 200, classes)
    result = glue_metrics(TASKS[task], labels, outputs)
    assert result == {"accuracy": pytest.approx(np.mean(outputs.argmax(1) == labels))}
    assert primary_metric(TASKS[task], result) == result["accuracy"]


@pytest.mark.parametrize("shape", [(400,), (400, 1)])
def test_pearson_and_spearman_for_sts_b(shape):
    rng = np.random.default_rng(2)
    gold = np.round(rng.uniform(0, 5, 400), 1)  # rounding makes ties, as in STS-B's scores
    predicted = np.round(gold + rng.normal(0, 1.5, 400), 1).reshape(shape)
    result = glue_metrics(TASKS["sts-b"], gold, predicted)
    assert result["pearson"] == pytest.approx(stats.pearsonr(gold, predicted.ravel())[0])
    assert result["spearman"] == pytest.approx(stats.spearmanr(gold, predicted.ravel())[0])
    assert result["pearson"] != pytest.approx(result["spearman"])
    assert primary_metric(TASKS["sts-b"], result) == result["spearman"]


def test_whole_dev_set_not_batch_average():
    gold = np.array([0.0, 1.0, 2.0, 3.0, 0.5, 4.0, 1.0, 5.0])
    predicted = np.array([0.5, 0.7, 2.5, 2.0, 3.0, 3.5, 0.1, 4.0])
    whole = stats.pearsonr(gold, predicted)[0]
    batches = np.mean([stats.pearsonr(gold[i:i + 4], predicted[i:i + 4])[0] for i in (0, 4)])
    assert whole != pytest.approx(batches)
    assert glue_metrics(TASKS["sts-b"], gold, predicted)["pearson"] == pytest.approx(whole)


def test_wrong_output_shapes():
    with pytest.raises(ValueError):
        glue_metrics(TASKS["mnli-m"], np.zeros(4, int), np.zeros((4, 2)))
    with pytest.raises(ValueError):
        glue_metrics(TASKS["sts-b"], np.zeros(4), np.zeros((4, 2)))


def test_glue_prediction_labels():
    # GLUE's spellings (docs/SPEC.md §3) under the original's label ids.
    assert glue_prediction_label(TASKS["mnli-m"], [0.7, 0.2, 0.1]) == "contradiction"
    assert glue_prediction_label(TASKS["mnli-mm"], [0.1, 0.7, 0.2]) == "entailment"
    assert glue_prediction_label(TASKS["mnli-m"], [0.1, 0.2, 0.7]) == "neutral"
    assert glue_prediction_label(TASKS["qnli"], np.array([0.9, 0.1])) == "not_entailment"
    assert glue_prediction_label(TASKS["rte"], [0.4, 0.6]) == "entailment"
    assert glue_prediction_label(TASKS["mrpc"], [0.4, 0.6]) == "1"
    assert glue_prediction_label(TASKS["cola"], [0.6, 0.4]) == "0"
    assert float(glue_prediction_label(TASKS["sts-b"], np.array([3.14159]))) == pytest.approx(3.142)
    assert float(glue_prediction_label(TASKS["sts-b"], np.float32(4.5))) == 4.5


def _glue_metrics_warnings(task, labels, outputs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = glue_metrics(TASKS[task], np.array(labels), np.array(outputs))
    return result, [str(w.message) for w in caught]


@pytest.mark.parametrize("task, labels, note", [
    ("cola", [1, 1, 1], "every dev example has label 1: Matthews' correlation is undefined on "
                        "such a set and is scored 0"),
    ("cola", [0, 0, 0], "every dev example has label 0: Matthews' correlation is undefined"),
    ("mrpc", [0, 0, 0], "no dev example has label 1: F1 is undefined on such a set and is "
                        "scored 0"),
])
@pytest.mark.parametrize("predicted", [0, 1])
def test_a_metric_undefined_on_a_one_class_dev_set_is_one_note(task, labels, note, predicted):
    outputs = np.eye(2)[[predicted] * len(labels)]
    result, caught = _glue_metrics_warnings(task, labels, outputs)
    assert result[TASKS[task].metric] == 0.0
    assert len(caught) == 1 and caught[0].startswith(note), caught  # none of scikit-learn's


def test_no_note_where_the_metric_is_defined():
    for task, labels in (("cola", [0, 1, 1]), ("mrpc", [1, 1, 1]), ("mrpc", [0, 1, 0])):
        assert _glue_metrics_warnings(task, labels, np.eye(2)[[1, 1, 1]])[1] == []


def test_warnings_go_into_the_log_once_each_and_not_to_stderr(tmp_path, capsys):
    # `outside` stands for Python's printing to stderr, which the block must keep them from.
    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        with warnings_and_error_into_log():
            warnings.warn("given before the log exists\n(second line)", UserWarning)
            log = RunLog(tmp_path)
            log("first line")
            for _ in range(3):
                warnings.warn("a library's noise", DeprecationWarning)
        warnings.warn("after the block", UserWarning)
    assert (tmp_path / "log_file.txt").read_text().splitlines() == [
        "warning: given before the log exists (second line)", "first line",
        "warning: a library's noise"]
    assert [str(w.message) for w in outside] == ["after the block"]
    assert capsys.readouterr().err == ""


def test_a_run_logs_the_note_of_a_one_class_dev_set_and_keeps_stderr_clean(tmp_path, capsys):
    run = make_tiny_run(tmp_path, deterministic=True)
    lines = (run.data_dir / "dev.tsv").read_text(encoding="utf-8").splitlines()
    (run.data_dir / "dev.tsv").write_text(
        "\n".join([lines[0]] + [line for line in lines[1:] if line.startswith("0\t")]) + "\n",
        encoding="utf-8")
    assert main.main(run.argv("--EVAL_ONLY")) == 0
    assert capsys.readouterr().err == ""
    log = (run.out / "log_file.txt").read_text(encoding="utf-8")
    assert log.count("warning: no dev example has label 1: F1 is undefined") == 1
