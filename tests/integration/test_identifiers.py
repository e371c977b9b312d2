"""MySQL names PostgreSQL cannot take as they are, through both readers against the lab:
- names over 63 bytes that share their first 63 bytes stay apart (cut + digest), foreign keys follow;
- columns named like PostgreSQL's system columns (xmin, ctid) are renamed and reported;
- two tables or columns that identifier_case lower would merge are refused, naming both;
- an embedding spec naming no column is refused.
Each used to lose rows or fail half-way with exit 0 or a late error.
"""
import json
import os

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import MigrationError
from both_readers import READERS, migrate

pytestmark = pytest.mark.integration

LONG_A = "a" * 63 + "1"          # 64 characters, MySQL's limit; the first 63 bytes are shared
LONG_B = "a" * 63 + "2"
WIDE_A = "é" * 40 + "x"          # 41 characters, 81 bytes
WIDE_B = "é" * 40 + "y"


def _create_long_names(mysql_connect, db):
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE `%s` (id int PRIMARY KEY, `%s` int NOT NULL UNIQUE, `%s` int)"
                    % (LONG_A, WIDE_A, WIDE_B))
        cur.execute("CREATE TABLE `%s` (id int PRIMARY KEY, ref int, xmin int, ctid text, "
                    "CONSTRAINT fk_ref FOREIGN KEY (ref) REFERENCES `%s` (`%s`))" % (LONG_B, LONG_A, WIDE_A))
        cur.executemany("INSERT INTO `%s` VALUES (%%s, %%s, %%s)" % LONG_A,
                        [(i, i * 10, -i) for i in range(3)])
        cur.executemany("INSERT INTO `%s` VALUES (%%s, %%s, %%s, %%s)" % LONG_B,
                        [(i, 10, i, "c%d" % i) for i in range(5)])
    conn.close()


def _pg_rows(pg_connect, pg_db, schema):
    conn = pg_connect(pg_db)
    with conn.cursor() as cur:
        cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind = 'r'", (schema,))
        names = [r[0] for r in cur.fetchall()]
        counts = {}
        for name in names:
            cur.execute('SELECT count(*) FROM "%s"."%s"' % (schema, name))
            counts[name] = cur.fetchone()[0]
        cur.execute("SELECT attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND a.attnum > 0 "
                    "AND NOT a.attisdropped ORDER BY 1", (schema,))
        columns = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                    "WHERE n.nspname = %s AND c.contype = 'f' AND c.convalidated", (schema,))
        fks = cur.fetchone()[0]
    conn.close()
    return counts, columns, fks


def _assert_apart(counts, columns, fks, manifest):
    assert sorted(counts.values()) == [3, 5], counts
    assert all(len(n.encode()) <= 63 for n in counts)
    assert len(counts) == 2
    assert {"xmin_", "ctid_"} <= columns and "xmin" not in columns
    assert len([c for c in columns if c.startswith("é")]) == 2
    assert fks == 1
    warnings = " ".join(w for t in manifest["tables"] for w in t["warnings"])
    assert "system column" in warnings and "at most 63 bytes" in warnings


@pytest.mark.parametrize("path", READERS)
def test_long_and_system_names_keep_every_row(path, lab, mysql_db, mysql_connect, pg_db,  # noqa: PLR0917
                                              pg_connect, tmp_path):
    _create_long_names(mysql_connect, mysql_db)
    dest = tmp_path / "m"
    migrate(path, lab, mysql_db, pg_db, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    _assert_apart(*_pg_rows(pg_connect, pg_db, mysql_db), manifest)


def _create_case_twins(mysql_connect, db):
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE `Foo` (id int PRIMARY KEY)")
        cur.execute("CREATE TABLE `foo` (id int PRIMARY KEY)")
        cur.execute("INSERT INTO `Foo` VALUES (1), (2)")
        cur.execute("INSERT INTO `foo` VALUES (3)")
    conn.close()


@pytest.mark.parametrize("path", READERS)
def test_tables_that_lower_case_would_merge_are_refused(path, lab, mysql_db, mysql_connect,  # noqa: PLR0917
                                                        pg_db, tmp_path):
    _create_case_twins(mysql_connect, mysql_db)
    merged = r"tables '.*Foo' and '.*foo' of PostgreSQL schema .* both become 'foo'"
    with pytest.raises(MigrationError, match=merged):
        migrate(path, lab, mysql_db, pg_db, tmp_path / "m", identifier_case="lower")
    assert not os.path.exists(tmp_path / "m" / "manifest.json") or \
        not json.loads((tmp_path / "m" / "manifest.json").read_text())["complete"]


@pytest.mark.parametrize("path", READERS)
def test_embedding_spec_naming_no_column_is_refused(path, lab, mysql_db, mysql_connect,  # noqa: PLR0917
                                                    pg_db, tmp_path):
    conn = mysql_connect(mysql_db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE doc (id int PRIMARY KEY, embedding longtext)")
        cur.execute("""INSERT INTO doc VALUES (1, '{"0":0.5,"1":0.25}')""")
    conn.close()
    specs = [{"table": "doc", "column": "embeddings", "dimensions": 2}]
    with pytest.raises(MigrationError, match=r"embeddings: no column doc\.embeddings"):
        migrate(path, lab, mysql_db, pg_db, tmp_path / "m", embeddings=specs)
