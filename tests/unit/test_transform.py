"""Whole-dump transforms of small hand-written dumps: dialect, values, policies, failures."""
import gzip
import json
import os
import re

import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils.copytext import parse_row
from ansible_collections.pgshift.mysql.plugins.module_utils.dump.transform import (
    TransformOptions,
    run_transform,
)
from ansible_collections.pgshift.mysql.plugins.module_utils.errors import DumpSyntaxError, MigrationError

HEAD = (b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n--\n"
        b"-- Host: localhost    Database: db1\n"
        b"/*!40101 SET NAMES utf8mb4 */;\n/*!40103 SET TIME_ZONE='+00:00' */;\n")
# mysqldump's last line: a dump without it is cut short (IncompleteDump)
TAIL = b"-- Dump completed on 2026-11-22  3:24:23\n"
T = (b"CREATE TABLE `t` (\n  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,\n"
     b"  `s` varchar(200) DEFAULT NULL,\n  `d` datetime DEFAULT NULL,\n  `b` tinyint(1) NOT NULL DEFAULT 0,\n"
     b"  `bin` blob,\n  PRIMARY KEY (`id`)\n"
     b") ENGINE=InnoDB AUTO_INCREMENT=10 DEFAULT CHARSET=utf8mb4 /*!80016 DEFAULT ENCRYPTION='N' */;\n")


def transform(tmp_path, body, name="d.sql", **kw):
    src = tmp_path / name
    data = HEAD + body + TAIL
    src.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    dest = tmp_path / "out"
    result = run_transform(TransformOptions(src=str(src), dest=str(dest), **kw))
    return result, dest


def rows(dest, table="db1.t"):
    with open(dest / "data" / (table + ".copy"), "rb") as f:
        return [parse_row(line) for line in f]


def manifest(dest):
    with open(dest / "manifest.json") as f:
        return json.load(f)


NASTY = (b"INSERT INTO `t` VALUES "
         b"(1,'a\\'b \\\\ (x), \"q\" \\n\\r\\t end','2020-01-02 03:04:05',1,_binary 'x\\0y'),"
         b"(2,'emoji \xf0\x9f\x98\x80 tab\there',NULL,0,0x00FF),(3,'',NULL,1,NULL),(4,'it''s',NULL,0,'');\n")


@pytest.mark.parametrize("name", ["d.sql", "d.sql.gz"])
def test_nasty_values(tmp_path, name):
    result, dest = transform(tmp_path, T + NASTY, name=name)
    assert result["tables"]["db1.t"]["rows"] == 4
    got = rows(dest)
    assert got[0] == ["1", "a'b \\ (x), \"q\" \n\r\t end", "2020-01-02 03:04:05", "t", "\\x780079"]
    assert got[1] == ["2", "emoji \U0001F600 tab\there", None, "f", "\\x00ff"]
    assert got[2] == ["3", "", None, "t", None]
    assert got[3] == ["4", "it's", None, "f", "\\x"]
    m = manifest(dest)
    assert m["complete"] is True
    t = m["tables"][0]
    assert t["auto_increment"] == 10 and t["primary_key"] == ["id"]
    assert t["columns"][0]["pg_type"] == "bigint" and t["columns"][0]["identity"]
    assert "PRIMARY KEY" not in t["create_sql"]
    assert [e["kind"] for e in t["post_data"]] == ["primary_key"]


@pytest.mark.parametrize("style", ["extended", "single", "complete", "crlf"])
def test_insert_styles(tmp_path, style):
    if style == "extended":
        body = b"INSERT INTO `t` VALUES (1,'x',NULL,1,NULL),(2,'y',NULL,0,NULL);\n"
    elif style == "single":
        body = b"INSERT INTO `t` VALUES (1,'x',NULL,1,NULL);\nINSERT INTO `t` VALUES (2,'y',NULL,0,NULL);\n"
    elif style == "complete":
        body = (b"INSERT INTO `t` (`s`, `id`, `d`, `b`, `bin`) VALUES ('x',1,NULL,1,NULL);\n"
                b"INSERT INTO `t` (`id`, `s`, `d`, `b`, `bin`) VALUES (2,'y',NULL,0,NULL);\n")
    else:
        body = b"INSERT INTO `t` VALUES\r\n(1,'x',NULL,1,NULL),\r\n(2,'y',NULL,0,NULL);\r\n"
    table = T.replace(b"\n", b"\r\n") if style == "crlf" else T
    _r, dest = transform(tmp_path, table + body)
    assert [r[:2] for r in rows(dest)] == [["1", "x"], ["2", "y"]]


def test_insert_ignore_and_replace_warn(tmp_path):
    body = (b"INSERT IGNORE INTO `t` VALUES (1,'x',NULL,1,NULL);\n"
            b"REPLACE INTO `t` VALUES (2,'y',NULL,0,NULL);\n")
    result, dest = transform(tmp_path, T + body)
    assert len(rows(dest)) == 2
    assert any("IGNORE/REPLACE" in w for w in result["tables"]["db1.t"]["warnings"])


def test_zero_date_policies(tmp_path):
    body = (b"INSERT INTO `t` VALUES (1,'x','0000-00-00 00:00:00',1,NULL),"
            b"(2,'y','0009-12-04 00:00:00',1,NULL);\n")
    with pytest.raises(MigrationError, match=r"row 1 \(key 1\).*zero date"):
        transform(tmp_path, T + body)
    assert not manifest(tmp_path / "out")["complete"]
    _r, dest = transform(tmp_path, T + body, zero_date="null", force=True)
    assert [r[2] for r in rows(dest)] == [None, "0009-12-04 00:00:00"]
    _r, dest = transform(tmp_path, T + body, zero_date="1970-01-01 00:00:00", force=True)
    assert rows(dest)[0][2] == "1970-01-01 00:00:00"


def test_nul_and_invalid_utf8_policies(tmp_path):
    body = b"INSERT INTO `t` VALUES (1,'a\\0b',NULL,1,NULL),(2,'bad \xff byte',NULL,1,NULL);\n"
    with pytest.raises(MigrationError, match="row 1.*NUL"):
        transform(tmp_path, T + body)
    with pytest.raises(MigrationError, match="row 2.*invalid UTF-8"):
        transform(tmp_path, T + body, nul_bytes="strip", force=True)
    result, dest = transform(tmp_path, T + body, nul_bytes="strip", invalid_utf8="replace", force=True)
    assert [r[1] for r in rows(dest)] == ["ab", "bad \ufffd byte"]
    assert any("nul_bytes" in w for w in result["tables"]["db1.t"]["warnings"])


def test_truncated_mid_insert(tmp_path):
    body = T + b"INSERT INTO `t` VALUES (1,'x',NULL,1,NULL),(2,'y"
    with pytest.raises(DumpSyntaxError, match=r"truncated.*table t at byte offset \d+"):
        transform(tmp_path, body)
    assert manifest(tmp_path / "out")["complete"] is False


def test_garbage(tmp_path):
    src = tmp_path / "g.sql"
    src.write_bytes(b"\x89PNG\r\n\x1a\n garbage; more")
    with pytest.raises(DumpSyntaxError, match="not a mysqldump statement at byte offset 0"):
        run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "o")))


def test_data_only_dump_needs_existing_schema(tmp_path):
    with pytest.raises(DumpSyntaxError, match="no CREATE TABLE.*schema_mode=existing"):
        transform(tmp_path, b"INSERT INTO `t` VALUES (1);\n")


def test_unknown_type_strict_and_default(tmp_path):
    body = b"CREATE TABLE `u` (`a` frobtype DEFAULT NULL);\nINSERT INTO `u` VALUES ('v');\n"
    with pytest.raises(MigrationError, match="no type rule"):
        transform(tmp_path, body, strict_types=True)
    result, dest = transform(tmp_path, body, force=True)
    assert rows(dest, "db1.u") == [["v"]]
    assert any("fallback" in w for w in result["tables"]["db1.u"]["warnings"])


def test_several_databases_routines_views(tmp_path):
    body = (b"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `db2`;\nUSE `db2`;\n" + T +
            b"INSERT INTO `t` VALUES (7,'z',NULL,1,NULL);\n"
            b"DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ "
            b"/*!50003 TRIGGER `trg` BEFORE INSERT ON `t` "
            b"FOR EACH ROW BEGIN SET NEW.s = 'a;b'; END */;;\nDELIMITER ;\n"
            b"/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`%` SQL SECURITY DEFINER */\n"
            b"/*!50001 VIEW `v` AS select `t`.`id` AS `id` from `t` where `t`.`b` = 1 */;\n")
    result, dest = transform(tmp_path, body, schema_map={"db2": "app"}, identifier_case="lower")
    assert rows(dest, "app.t") == [["7", "z", None, "t", None]]
    m = manifest(dest)
    assert m["routines"][0]["kind"] == "trigger" and "a;b" in m["routines"][0]["text"]
    assert m["views"][0]["translated"] and '"app"."t"' in m["views"][0]["sql"]


def test_format_sql_and_check_mode(tmp_path):
    src = tmp_path / "d.sql"
    src.write_bytes(HEAD + T + b"INSERT INTO `t` VALUES (1,'x',NULL,1,NULL);\n" + TAIL)
    out = tmp_path / "all.psql"
    run_transform(TransformOptions(src=str(src), dest=str(out), format="sql"))
    text = out.read_text()
    assert 'COPY "db1"."t" ("id", "s", "d", "b", "bin") FROM stdin;\n1\tx\t\\N\tt\t\\N\n\\.\n' in text
    result = run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "none"), check_mode=True))
    assert result["rows"] == 1 and not os.path.exists(tmp_path / "none")


@pytest.fixture
def small_reads(monkeypatch):
    """The dump reader reads 4 KB at a time (its default chunk is 4 MB)."""
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump import reader as dumpreader
    monkeypatch.setattr(dumpreader.DumpReader.__init__, "__defaults__", (4096, None))


def test_long_value_across_buffer_refills(tmp_path, small_reads):
    big = b"x" * 300_000
    body = T + b"INSERT INTO `t` VALUES " + b",".join(
        b"(%d,'%s\\'',NULL,1,NULL)" % (i, big) for i in range(1, 4)) + b";\n"
    _r, dest = transform(tmp_path, body)
    assert [len(r[1]) for r in rows(dest)] == [300_001] * 3


def test_embeddings_reject_null_and_counts(tmp_path):
    pytest.importorskip("ansible_collections.pgshift.mysql.plugins.module_utils.model.embedding_text",
                        reason="embeddings.py (owned by the embeddings engineer) not present yet")
    body = (b"CREATE TABLE `ce` (`id` int NOT NULL, `embedding` longtext, PRIMARY KEY (`id`));\n"
            b"INSERT INTO `ce` VALUES (1,'{\\\"0\\\":0.5,\\\"1\\\":-0.25,\\\"2\\\":1}'),"
            b"(17,'{\\\"0\\\":0.5}'),(3,NULL);\n")
    spec = {"table": "ce", "column": "embedding", "dimensions": 3, "type": "halfvec"}
    with pytest.raises(MigrationError, match=r"row 2 \(key 17\).*dimensions"):
        transform(tmp_path, body, embeddings=[spec])
    result, dest = transform(tmp_path, body, embeddings=[dict(spec, invalid="reject")], force=True)
    assert rows(dest, "db1.ce") == [["1", "[0.5,-0.25,1]"], ["3", None]]
    col = manifest(dest)["tables"][0]["columns"][1]
    assert col["pg_type"] == "halfvec(3)"
    assert {k: col["embedding"][k] for k in ("converted", "nulled", "rejected")} == \
        {"converted": 1, "nulled": 0, "rejected": 1}
    log = (dest / "rejects" / "db1.ce.log").read_text()       # the key names the row, not only its number
    assert log.startswith("row 2 (key 17) at byte offset ") and "column embedding" in log
    assert manifest(dest)["tables"][0]["rows"] == 2
    _r, dest = transform(tmp_path, body, embeddings=[dict(spec, invalid="null")], force=True)
    assert rows(dest, "db1.ce")[1] == ["17", None]


def test_embeddings_statement_at_once(tmp_path, monkeypatch):
    """A statement with embedding columns goes through the bulk path (text holding ');', escapes),
    with the same rows and counts as row by row; an invalid value sends it back to the row loop."""
    from ansible_collections.pgshift.mysql.plugins.module_utils.dump import rowcodec
    taken = []
    real = rowcodec.bulk_statement
    monkeypatch.setattr(rowcodec, "bulk_statement", lambda *a, **k: taken.append(real(*a, **k)) or taken[-1])
    body = (b"CREATE TABLE `ce` (`id` int NOT NULL, `txt` text, `embedding` longtext, PRIMARY KEY (`id`));\n"
            b"INSERT INTO `ce` VALUES (1,'VALUES (\\'x\\'); \\\\ \\\"q\\\"',"
            b"'{\\\"0\\\":0.5,\\\"1\\\":-0.25,\\\"2\\\":1}'),"
            b"(2,NULL,NULL),(3,'x','[1,2.5e-3,3]');\n")
    spec = {"table": "ce", "column": "embedding", "dimensions": 3, "format": "auto"}
    result, dest = transform(tmp_path, body, embeddings=[spec], jobs=1)
    assert [t is not None for t in taken] == [True]
    assert rows(dest, "db1.ce") == [["1", "VALUES ('x'); \\ \"q\"", "[0.5,-0.25,1]"], ["2", None, None],
                                    ["3", "x", "[1,2.5e-3,3]"]]
    assert manifest(dest)["tables"][0]["columns"][2]["embedding"]["converted"] == 2
    assert result["tables"]["db1.ce"]["rows"] == 3
    taken.clear()
    bad = body.replace(b"2.5e-3", b"NaN")
    with pytest.raises(MigrationError, match=r"row 3 \(key 3\).*NaN|row 3 \(key 3\).*JSON"):
        transform(tmp_path, bad, embeddings=[spec], force=True, jobs=1)
    assert taken == [None]


@pytest.mark.parametrize("jobs", [1, 2])
def test_one_column_embedding_table_with_spacing_inside_tuples(tmp_path, jobs):
    """Hand-written spacing between values (not mysqldump's) must not pass for row separators."""
    body = (b"CREATE TABLE `e1` (`embedding` longtext);\n"
            b"INSERT INTO `e1` VALUES (\n'[1,2,3]'),('[4,5,6]'),(\n'[7,8,9]');\n")
    spec = {"table": "e1", "column": "embedding", "dimensions": 3, "format": "json_array"}
    result, dest = transform(tmp_path, body, embeddings=[spec], jobs=jobs)
    assert rows(dest, "db1.e1") == [["[1,2,3]"], ["[4,5,6]"], ["[7,8,9]"]]
    assert result["tables"]["db1.e1"]["rows"] == 3


@pytest.mark.parametrize("values", [b"(1,2),(3,NULL)", b"(1,2),\n(3,NULL)", b"(1,2)"])
def test_numbers_only_table_bulk_path(tmp_path, values):
    """A statement without any string literal (the bulk path has no string parts to put back)."""
    body = (b"CREATE TABLE `n` (`a` int NOT NULL, `b` bigint DEFAULT NULL);\n"
            b"INSERT INTO `n` VALUES " + values + b";\n")
    _r, dest = transform(tmp_path, body)
    assert rows(dest, "db1.n")[:2] == [["1", "2"], ["3", None]][:values.count(b"(")]


@pytest.mark.parametrize("header, expected", [
    (b"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n--\n"
     b"-- Host: localhost    Database: db1\n-- ----\n-- Server version\t10.11.6-MariaDB-0+deb12u1-log\n",
     "10.11.6-MariaDB-0+deb12u1-log"),
    (b"-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: h    Database: db1\n"
     b"-- ------\n-- Server version\t8.0.36\n", "8.0.36"),
    (b"-- MySQL dump 10.13  Distrib 5.7.44, for Linux (x86_64)\n--\n-- Host: h    Database: db1\n",
     "5.7.44"),
    (b"-- MariaDB dump 10.19  Distrib 10.6.12, for debian-linux-gnu (x86_64)\n", "10.6.12-MariaDB"),
    (b"", None),
])
def test_server_version_from_dump_header(tmp_path, header, expected):
    """migration_verify decides FLOAT precision from source.server_version (docs/contracts.md)."""
    src = tmp_path / "d.sql"
    src.write_bytes(header + b"/*!40101 SET NAMES utf8mb4 */;\n" + T
                    + b"INSERT INTO `t` VALUES (1,'a',NULL,1,NULL);\n" + TAIL)
    run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "out"), default_schema="db1"))
    source = manifest(tmp_path / "out")["source"]
    assert source.get("server_version") == expected
    if expected:
        from ansible_collections.pgshift.mysql.plugins.module_utils.verify.canonical import server_flavor
        assert server_flavor(expected)[0] == ("mysql" if header.startswith(b"-- MySQL") else "mariadb")


SAKILA_DUMP = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "shared", "data",
                           "sakila", "sakila-mariadb-mysqldump.sql")


def _cuts(data):
    """A real mysqldump cut at statement boundaries: before its first table, after a table's first
    INSERT, after a table's UNLOCK TABLES, and just before the final line."""
    first_insert = data.index(b"INSERT INTO `film`")
    unlock = data.index(b"UNLOCK TABLES;", first_insert)
    return {"before_first_table": data[:data.index(b"DROP TABLE IF EXISTS")],
            "after_first_insert": data[:data.index(b";\n", first_insert) + 2],
            "after_unlock_tables": data[:unlock + len(b"UNLOCK TABLES;\n")],
            "before_last_line": data[:data.rindex(b"-- Dump completed")]}


@pytest.mark.parametrize("cut", ["before_first_table", "after_first_insert", "after_unlock_tables",
                                 "before_last_line"])
def test_dump_cut_at_a_statement_boundary_fails(tmp_path, cut):
    with open(SAKILA_DUMP, "rb") as f:
        data = f.read()
    src = tmp_path / "cut.sql"
    src.write_bytes(_cuts(data)[cut])
    with pytest.raises(MigrationError, match=r"cut\.sql' ends at byte offset \d+ without mysqldump's "
                                             r"'-- Dump completed' line.*allow_incomplete_dump") as err:
        run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "out")))
    assert "\n" not in str(err.value)
    with open(tmp_path / "out" / "manifest.json") as f:
        assert json.load(f)["complete"] is False


def test_incomplete_dump_accepted_when_knowingly_partial(tmp_path):
    src, dest = tmp_path / "d.sql", tmp_path / "out"
    src.write_bytes(HEAD + T + b"INSERT INTO `t` VALUES (1,'x',NULL,1,NULL);\n")
    result = run_transform(TransformOptions(src=str(src), dest=str(dest), allow_incomplete_dump=True))
    assert result["tables"]["db1.t"]["rows"] == 1
    assert any("accepted as partial (allow_incomplete_dump)" in w for w in result["warnings"])
    assert manifest(dest)["options"]["allow_incomplete_dump"] is True


def test_statements_after_the_completed_line_fail(tmp_path):
    """Two dumps concatenated, the second cut: the last statement decides."""
    src = tmp_path / "two.sql"
    src.write_bytes(HEAD + T + TAIL + b"INSERT INTO `t` VALUES (1,'x',NULL,1,NULL);\n")
    with pytest.raises(MigrationError, match="without mysqldump's '-- Dump completed' line"):
        run_transform(TransformOptions(src=str(src), dest=str(tmp_path / "out")))


def test_cli_allow_incomplete_dump(tmp_path, capsys):
    from ansible_collections.pgshift.mysql.plugins.module_utils.cli import transform as cli_transform
    src = tmp_path / "d.sql"
    src.write_bytes(HEAD + T + b"INSERT INTO `t` VALUES (1,'x',NULL,1,NULL);\n")
    assert cli_transform.main([str(src), str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "d.sql' ends at byte offset" in err and "--allow-incomplete-dump" in err
    assert cli_transform.main([str(src), str(tmp_path / "b"), "--allow-incomplete-dump"]) == 0


@pytest.mark.parametrize("value", ["'; DROP TABLE y; --", "2021-02-30", "0000-00-00", "1970-01-01 25:00:00",
                                   "yesterday", "1970-1-1", "1970-01-01 00:00:00; x"])
def test_zero_date_replacement_must_be_a_date(tmp_path, value):
    with pytest.raises(MigrationError, match=r"zero_date \(--zero-date\) must be .*got %s"
                                             % re.escape(repr(value))):
        transform(tmp_path, T, zero_date=value)
    assert not (tmp_path / "out").exists()                  # refused before anything is written


def test_zero_date_replacement_fits_each_column(tmp_path):
    body = (b"CREATE TABLE `z` (`id` int NOT NULL, `d` date, `dt` datetime, PRIMARY KEY (`id`));\n"
            b"INSERT INTO `z` VALUES (1,'0000-00-00','0000-00-00 00:00:00');\n")
    with pytest.raises(MigrationError, match=r"column z\.d \(date\) is a date: zero_date replacement "
                                             r"'1970-01-01 12:00:00' has a time of day"):
        transform(tmp_path, body, zero_date="1970-01-01 12:00:00")
    _r, dest = transform(tmp_path, body, zero_date="1970-01-01 00:00:00", force=True)
    assert rows(dest, "db1.z") == [["1", "1970-01-01 00:00:00", "1970-01-01 00:00:00"]]
    _r, dest = transform(tmp_path, body, zero_date="1970-01-01", force=True)
    assert rows(dest, "db1.z") == [["1", "1970-01-01", "1970-01-01"]]
