"""CHECK constraints, expression defaults and generated columns, translated by sqlglot and executed by
the real PostgreSQL, through both readers. They used to be split (`>=` became `> =`), dropped with
a warning (DEFAULT (uuid()), DEFAULT (_utf8mb3'')) or abort the transform (a MySQL 8 INSERT that
leaves the generated column out)."""
import json

import psycopg2
import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.load.loader import load
from both_readers import READERS, migrate
from test_live_copy import params_for

pytestmark = pytest.mark.integration

TABLE = """CREATE TABLE g (
  id int PRIMARY KEY, price decimal(10,2) NOT NULL, qty int NOT NULL,
  name varchar(20) DEFAULT (_utf8mb3''), tag char(36) DEFAULT (uuid()), made datetime DEFAULT (now()),
  total decimal(12,2) AS (price * qty) STORED, label varchar(40) AS (concat(name, '#', id)) VIRTUAL,
  CONSTRAINT g_qty CHECK (qty >= 0), CONSTRAINT g_five CHECK (qty <> 5), CHECK (char_length(name) < 10))"""


def _source(mysql_connect, db):
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        cur.execute(TABLE)
        cur.execute("INSERT INTO g (id, price, qty, name) VALUES (1, 2.5, 4, 'ab'), (2, 1, 0, 'x')")
    conn.close()


def _refused(cur, sql):
    cur.execute("SAVEPOINT s")
    try:
        cur.execute(sql)
    except psycopg2.errors.CheckViolation:
        cur.execute("ROLLBACK TO SAVEPOINT s")
        return True
    cur.execute("ROLLBACK TO SAVEPOINT s")
    return False


@pytest.mark.parametrize("path", READERS)
def test_checks_defaults_and_generated_columns_work_in_postgresql(path, lab, mysql_db, mysql_connect,  # noqa: PLR0917
                                                                  pg_db, pg_connect, tmp_path):
    _source(mysql_connect, mysql_db)
    dest = tmp_path / "m"
    migrate(path, lab, mysql_db, pg_db, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    warnings = " ".join(manifest["tables"][0]["warnings"])
    assert "not translated" not in warnings, warnings
    assert "VIRTUAL generated column made STORED" in warnings
    conn = pg_connect(pg_db)
    with conn.cursor() as cur:
        cur.execute('SET search_path = "%s"' % mysql_db)
        cur.execute("SELECT id, total, label FROM g ORDER BY id")
        assert cur.fetchall() == [(1, 10, "ab#1"), (2, 0, "x#2")]
        assert _refused(cur, "INSERT INTO g (id, price, qty) VALUES (10, 1, -1)")
        assert _refused(cur, "INSERT INTO g (id, price, qty) VALUES (11, 1, 5)")
        assert _refused(cur, "INSERT INTO g (id, price, qty, name) VALUES (12, 1, 1, 'abcdefghijk')")
        cur.execute("INSERT INTO g (id, price, qty) VALUES (13, 3, 3) "
                    "RETURNING name, tag, made IS NOT NULL, total")
        name, tag, made, total = cur.fetchone()
        assert (name, len(tag), made, total) == ("", 36, True, 9)
    conn.rollback()
    conn.close()


MYSQL8_DUMP = """-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
-- Server version\t8.0.36
/*!40101 SET NAMES utf8mb4 */;
CREATE TABLE `g` (
  `id` int NOT NULL,
  `n` int NOT NULL,
  `doc` json DEFAULT NULL,
  `k` varchar(20) GENERATED ALWAYS AS (json_unquote(json_extract(`doc`,_utf8mb4'$.k'))) VIRTUAL,
  `twice` int GENERATED ALWAYS AS ((`n` * 2)) STORED,
  `note` varchar(10) DEFAULT (_utf8mb4''),
  PRIMARY KEY (`id`),
  CONSTRAINT `g_chk_1` CHECK ((`n` >= 0))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
INSERT INTO `g` (`id`, `n`, `doc`, `note`) VALUES (1,3,'{\\"k\\": \\"a\\"}','x'),(2,0,NULL,'');
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */
/*!50001 VIEW `v` AS select `g`.`id` AS `id` from `g` where ((`g`.`n` <> 0) and (`g`.`n` >= 0)) */;
-- Dump completed on 2026-12-01 10:00:00
"""


def test_mysql8_dump_leaving_generated_columns_out_loads(lab, pg_db, pg_connect, tmp_path):
    (tmp_path / "d.sql").write_text(MYSQL8_DUMP)
    run_transform(TransformOptions(src=str(tmp_path / "d.sql"), dest=str(tmp_path / "m"),
                                   default_schema="app"))
    load(params_for(lab, pg_db), str(tmp_path / "m"), jobs=1)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    warnings = " ".join(manifest["tables"][0]["warnings"])
    assert "'k': generated expression" in warnings and "JSON_UNQUOTE" in warnings   # said, not silent
    conn = pg_connect(pg_db)
    with conn.cursor() as cur:
        cur.execute("SELECT id, n, twice, note FROM app.g ORDER BY id")
        assert cur.fetchall() == [(1, 3, 6, "x"), (2, 0, 0, "")]
        assert _refused(cur, "INSERT INTO app.g (id, n) VALUES (9, -1)")
        cur.execute("SELECT id FROM app.v")
        assert cur.fetchall() == [(1,)]
    conn.close()
