"""Pure parts of sequence_reset: the wanted next value and the manifest's AUTO_INCREMENT values."""
import json

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.finish.sequences import (
    _auto_increment_for,
    manifest_auto_increments,
    wanted_next,
)
from hypothesis import given
from hypothesis import strategies as st

SEQ = {"start": 1, "min_value": 1}


@pytest.mark.parametrize("col_max, auto_increment, expected", [
    (7, 11, 11),        # rows deleted from the end: AUTO_INCREMENT wins
    (20, 5, 21),        # AUTO_INCREMENT below max: max + 1
    (None, 50, 50),     # empty table: AUTO_INCREMENT
    (None, None, 1),    # empty, nothing recorded: the sequence's start
    (41, None, 42),     # no manifest: max + 1
])
def test_wanted_next(col_max, auto_increment, expected):
    assert wanted_next(SEQ, col_max, auto_increment) == expected


@given(st.one_of(st.none(), st.integers(0, 2 ** 62)), st.one_of(st.none(), st.integers(1, 2 ** 62)))
def test_wanted_next_never_reissues_an_id(col_max, auto_increment):
    value = wanted_next(SEQ, col_max, auto_increment)
    assert value >= 1
    assert col_max is None or value > col_max
    assert auto_increment is None or value >= auto_increment


def test_manifest_values_go_to_the_identity_column_only():
    manifest = {"tables": [{"schema": "s", "name": "t", "auto_increment": 9,
                            "columns": [{"name": "id", "identity": True}, {"name": "n", "identity": False}]},
                           {"schema": "s", "name": "u", "auto_increment": 4, "columns": [{"name": "x"}]}]}
    values = manifest_auto_increments(manifest)
    assert values[("s", "t")] == (9, ["id"])
    assert _auto_increment_for({"schema": "s", "table": "t", "column": "id"}, values, 2) == 9
    assert _auto_increment_for({"schema": "s", "table": "t", "column": "n"}, values, 2) is None
    # no identity flag in the manifest: the table's only sequence column takes it, two are ambiguous
    assert _auto_increment_for({"schema": "s", "table": "u", "column": "x"}, values, 1) == 4
    assert _auto_increment_for({"schema": "s", "table": "u", "column": "x"}, values, 2) is None


@pytest.mark.parametrize("manifest, message", [
    ({"format": 1, "complete": False, "tables": []}, "not marked complete"),
    ({"format": 7, "complete": True, "tables": []}, "has format 7"),
])
def test_steps_that_read_a_manifest_refuse_a_partial_or_foreign_one(tmp_path, manifest, message):
    from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
    from ansible_collections.pgshift.mysql.plugins.module_utils.manifest import read_optional_manifest

    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    for src in (str(tmp_path), str(tmp_path / "manifest.json")):
        with pytest.raises(MigrationError, match=message):
            read_optional_manifest(src)
    assert read_optional_manifest("") is None
