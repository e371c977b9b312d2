"""Pure parts of the verify canonical forms: the FLOAT precision a migration's source carries."""
import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.verify import canonical as cn


@pytest.mark.parametrize("text, flavor, version", [
    ("10.11.6-MariaDB-0+deb12u1-log", "mariadb", (10, 11)),
    ("5.5.5-10.6.12-MariaDB", "mariadb", (5, 5)),
    ("8.0.36", "mysql", (8, 0)),
    ("8.4.2-commercial", "mysql", (8, 4)),
    ("5.7.44-log", "mysql", (5, 7)),
    (None, "mysql", (0, 0)),
])
def test_server_flavor(text, flavor, version):
    assert cn.server_flavor(text) == (flavor, version)


@pytest.mark.parametrize("kind, version, digits", [
    ("dump", "10.11.6-MariaDB", 6),
    ("dump", "5.5.5-10.6.12-MariaDB", 6),
    ("dump", "5.7.44", 6),
    ("dump", "8.0.36", None),          # MySQL 8 prints the shortest round-trip text: exact
    ("dump", "9.1.0", None),
    ("dump", None, 6),                 # unknown server: assume the lossy printer
    ("live", "10.11.6-MariaDB", None),
    (None, None, None),
])
def test_dump_float_digits(kind, version, digits):
    assert cn.dump_float_digits(kind, version) == digits


def _col(kind, flavor=None, pg_type="real"):
    col = cn.Column(name="f", source_name="f", my_type="float", my_data_type="float", pg_type=pg_type)
    col.kind = kind
    if flavor:
        col.extra["flavor"] = flavor
    return col


def test_reduced_float_is_compared_through_the_servers_six_digit_text():
    assert "CAST(CAST(`f` AS FLOAT) AS CHAR) + 0e0" in cn.my_expr(_col("float4_g6", "mariadb"), {})
    assert "CONCAT(`f`) + 0e0" in cn.my_expr(_col("float4_g6", "mysql"), {})
    assert "to_char((\"f\")::float4, '9.99999EEEE')::float8" in cn.pg_expr(_col("float4_g6"), {})
    assert "float4_g6" in cn.SQL_KINDS


def test_exact_float_is_unchanged():
    assert "AS FLOAT" not in cn.my_expr(_col("float4"), {})
    assert "to_char" not in cn.pg_expr(_col("float4"), {})


def test_pg_float_keeps_null_null():
    """concat() would turn NULL into 'p' and differ from MySQL's NULL: the form must use ||."""
    expr = cn.pg_expr(_col("float8", pg_type="double precision"), {})
    assert "concat(" not in expr and "||" in expr
