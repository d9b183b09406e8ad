"""The retention configuration as one value: its numbers, mode and padding, parsed from
`--RETENTION_CONFIG` and from a JSON record, written back as the record, compared and hashed."""

import dataclasses
import json

import pytest

from checkpoints.hdf5 import model_record
from data.tasks import get_task
from errors import UserError
from extract_layers import RetentionConfiguration

# The mode and padding of a run before its numbers are known.
ABSOLUTE_BASE = RetentionConfiguration()
RELATIVE_BASE = RetentionConfiguration(mode="relative")


def test_parse_gives_the_numbers_of_the_mode():
    retention = ABSOLUTE_BASE.parse("8, 4,4", 3, 16)
    assert (retention.values, retention.mode, retention.padding) == ((8, 4, 4), "absolute",
                                                                    "batch")
    assert all(type(value) is int for value in retention.values)
    shares = RELATIVE_BASE.parse("1,0.5,0.15", 3, 16)
    assert shares.values == (1.0, 0.5, 0.15) and all(type(v) is float for v in shares.values)
    # The padding travels with the mode through parsing.
    assert RetentionConfiguration(padding="seq_len").parse("8,4", 2, 16).padding_votes


@pytest.mark.parametrize("base,text", [
    (ABSOLUTE_BASE, "0.5,0.25"), (ABSOLUTE_BASE, "8,17"), (ABSOLUTE_BASE, "4,8"),
    (ABSOLUTE_BASE, "8"), (RELATIVE_BASE, "0.5,1.5"), (RELATIVE_BASE, "0.33333,0.1"),
    (RELATIVE_BASE, "a,b")])
def test_parse_refuses_what_does_not_fit_the_mode_or_the_model(base, text):
    with pytest.raises(UserError):
        base.parse(text, 2, 16)


def test_the_record_round_trips_and_keeps_its_keys():
    for retention in (ABSOLUTE_BASE.parse("64,32", 2, 128),
                      RELATIVE_BASE.parse("0.8,0.05", 2, 128),
                      RetentionConfiguration((128, 128), padding="seq_len")):
        record = json.loads(json.dumps(retention.record()))
        assert list(record) == ["retention_configuration", "retention_mode", "padding"]
        base = RetentionConfiguration(mode=record["retention_mode"], padding=record["padding"])
        assert base.parse_recorded(record["retention_configuration"], 2, 128) == retention
    assert ABSOLUTE_BASE.record() == {"retention_configuration": None,
                                      "retention_mode": "absolute", "padding": "batch"}
    with pytest.raises(UserError, match="is not a list"):
        ABSOLUTE_BASE.parse_recorded("64,32", 2, 128)


def test_a_model_files_record_is_what_it_was():
    """The `power_bert` record keeps the keys and values files written before this value
    existed hold, so that those files and these read alike."""
    task = get_task("mrpc")
    record = model_record(task, RetentionConfiguration([64.0, 32], padding="seq_len"),
                          {"alpha": 0.5, "temperature": 2.0})
    assert record == {"task": "mrpc", "seq_len": 128, "padding": "seq_len",
                      "retention_mode": "absolute", "retention_configuration": [64, 32],
                      "distillation": {"alpha": 0.5, "temperature": 2.0}}
    assert json.dumps(record["retention_configuration"]) == "[64, 32]"
    assert model_record(task, RELATIVE_BASE)["retention_configuration"] is None


def test_equal_values_are_one_configuration():
    assert RetentionConfiguration([8, 4]) == RetentionConfiguration((8.0, 4))
    assert hash(RetentionConfiguration([8, 4])) == hash(RetentionConfiguration((8, 4)))
    assert RetentionConfiguration((1, 1)) != RetentionConfiguration((1, 1), mode="relative")
    assert RetentionConfiguration((8, 4)) != RetentionConfiguration((8, 4), padding="seq_len")
    assert len({RetentionConfiguration((8, 4)), RetentionConfiguration([8, 4]),
                RetentionConfiguration((8, 4), mode="relative")}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        ABSOLUTE_BASE.mode = "relative"
    for bad in (dict(mode="share"), dict(padding="none")):
        with pytest.raises(ValueError):
            RetentionConfiguration(**bad)


def test_what_each_mode_says_of_its_numbers():
    retention = ABSOLUTE_BASE.parse("12,6,3,1", 4, 16)
    assert (str(retention), retention.label) == ("[12, 6, 3, 1]", "12,6,3,1")
    assert retention.kept(5) == [5, 5, 3, 1] and not retention.relative
    shares = RELATIVE_BASE.parse("0.9,0.15", 2, 16)
    assert (str(shares), shares.label) == ("[0.9, 0.15]", "rel:0.9,0.15")
    assert shares.kept(340) == [306, 51] and shares.relative  # 0.15 * 340 is 51, exactly
    assert str(ABSOLUTE_BASE) == "None" and ABSOLUTE_BASE.kept(5) is None
    assert ABSOLUTE_BASE.keeping_all(3, 16).values == (16, 16, 16)
    assert RELATIVE_BASE.keeping_all(2, 16).values == (1.0, 1.0)
    assert not ABSOLUTE_BASE.padding_votes


def test_derive_gives_the_search_result_in_the_runs_mode():
    parameters = [[1.0, 1.0, 0.5, 0.0], [0.5, 0.25, 0.0, 0.0]]
    assert ABSOLUTE_BASE.derive(parameters).values == (2, 1)
    found = RELATIVE_BASE.derive(parameters)
    assert found == RetentionConfiguration((0.625, 0.25), mode="relative")
