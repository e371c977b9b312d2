"""model.names: one rule for the PostgreSQL names of MySQL identifiers."""
import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from ansible_collections.pgshift.mysql.plugins.module_utils.model.names import (
    NameScope,
    fit_name,
    pg_column_name,
    pg_name,
    rename_reason,
)


@pytest.mark.parametrize("name, kept", [("a" * 63, True), ("a" * 64, False), ("é" * 31 + "a", True),
                                        ("é" * 32, False)])
def test_names_up_to_63_bytes_are_kept(name, kept):
    assert (fit_name(name) == name) is kept
    assert len(fit_name(name).encode("utf-8")) <= 63


def test_long_names_sharing_63_bytes_stay_apart_and_are_stable():
    a, b = "x" * 63 + "1", "x" * 63 + "2"
    assert fit_name(a) != fit_name(b)
    assert fit_name(a) == fit_name(a)
    assert fit_name("é" * 40).encode("utf-8").decode("utf-8")   # cut on a character boundary


@pytest.mark.parametrize("name, case, pg", [("xmin", "preserve", "xmin_"), ("XMIN", "lower", "xmin_"),
                                            ("XMIN", "preserve", "XMIN"), ("oid", "preserve", "oid"),
                                            ("Ctid", "preserve", "Ctid")])
def test_system_column_names_get_a_suffix(name, case, pg):
    assert pg_column_name(name, case) == pg
    assert (rename_reason(name, pg, case) is None) is (pg == (name.lower() if case == "lower" else name))


def test_table_names_never_get_the_system_suffix():
    assert pg_name("xmin") == "xmin"


def test_a_scope_refuses_two_sources_for_one_name():
    scope = NameScope("column", "table db.t")
    scope.claim("a", "A")
    scope.claim("a", "A")       # the same source again is fine (a view replacing its stub table)
    with pytest.raises(MigrationError, match="columns 'A' and 'a' of table db.t both become 'a'"):
        scope.claim("a", "a")
