"""benchmarks/hugging_face.py: Hugging Face's recipe as the floor of step 1 (issue 35)."""

import csv
import types

import numpy as np
import pytest
import torch

from baselines import hugging_face
from tests.data_paths import real_data


def test_learning_rate_warms_up_over_a_tenth_then_decays_to_zero():
    model = torch.nn.Linear(2, 2)
    args = types.SimpleNamespace(lr=1e-3, weight_decay=0.01, warmup=0.1)
    optimizer, schedule = hugging_face.optimizer_and_schedule(model, 100, args)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == 0
    assert np.argmax(rates) == 10 and rates[10] == pytest.approx(1e-3)
    assert rates[55] == pytest.approx(1e-3 * 45 / 90)
    assert rates[-1] == pytest.approx(1e-3 / 90)


def test_weight_decay_spares_biases_and_layer_norm():
    model = torch.nn.Module()
    model.dense = torch.nn.Linear(2, 2)
    model.LayerNorm = torch.nn.LayerNorm(2)
    args = types.SimpleNamespace(lr=1e-3, weight_decay=0.01, warmup=0.1)
    optimizer, _ = hugging_face.optimizer_and_schedule(model, 10, args)
    decayed, spared = optimizer.param_groups
    assert decayed["weight_decay"] == 0.01 and spared["weight_decay"] == 0
    assert [p is model.dense.weight for p in decayed["params"]] == [True]
    assert {id(p) for p in spared["params"]} == {
        id(model.dense.bias), id(model.LayerNorm.weight), id(model.LayerNorm.bias)}


def _tiny_mrpc(folder, rows):
    lines = (real_data("glue", "MRPC") / "train.tsv").read_text(encoding="utf-8").splitlines()
    folder.mkdir()
    for split, part in (("train", lines[1:1 + rows]), ("dev", lines[1 + rows:1 + 2 * rows])):
        (folder / f"{split}.tsv").write_text("\n".join([lines[0]] + part) + "\n",
                                             encoding="utf-8")
    return folder


def _rows(path):
    with open(path, encoding="utf-8") as f:
        return [(r["seed"], r["epoch"], r["loss"], r["accuracy"], r["f1"])
                for r in csv.DictReader(f)]


@pytest.mark.slow  # fine-tunes the real MiniLM for epochs, three times
def test_seeds_fine_tune_the_real_minilm_and_each_rerun_replaces_its_own_rows(tmp_path):
    data = _tiny_mrpc(tmp_path / "MRPC", 16)
    out = tmp_path / "reference.csv"
    flags = ["--data-dir", str(data), "--out", str(out), "--epochs", "2", "--batch-size", "8",
             "--threads", "1"]
    assert hugging_face.main(flags + ["--seeds", "0,1"]) == 0
    first = _rows(out)
    assert [row[:2] for row in first] == [("0", "1"), ("0", "2"), ("1", "1"), ("1", "2")]
    assert all(0 <= float(acc) <= 100 and 0 <= float(f1) <= 100 for *_, acc, f1 in first)
    # Seeds differ in data order and the new classifier (the training loss shows it); one
    # seed twice trains alike.
    assert [row[2] for row in first[:2]] != [row[2] for row in first[2:]]
    assert hugging_face.main(flags + ["--seeds", "0"]) == 0
    assert sorted(_rows(out)) == sorted(first)


def test_bad_seeds_are_one_line(tmp_path, capsys):
    data = _tiny_mrpc(tmp_path / "MRPC", 4)
    for bad in (["--seeds", "zero"], ["--seeds", "0,0"], ["--epochs", "two"]):
        assert hugging_face.main(["--data-dir", str(data), "--out", str(tmp_path / "r.csv"),
                                  *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and bad[0] in err, err
