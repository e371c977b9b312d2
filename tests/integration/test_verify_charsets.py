"""Text in a legacy character set holding bytes with no Unicode form: every utf8mb4 reader (dump and
live copy) gets '?' for them, and so do the checksums; migration_verify finds them apart."""
import pytest
from ansible_collections.pgshift.mysql.plugins.module_utils import manifest as mf
from ansible_collections.pgshift.mysql.plugins.module_utils.verify.verify import verify
from test_live_copy import params_for, run_live_copy


@pytest.fixture
def copied(lab, mysql_db, pg_db, mysql_connect, tmp_path):
    my = mysql_connect(mysql_db)
    with my.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        # a VARBINARY column turned into ascii keeps its bytes as they are, 0xFF included
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, code VARBINARY(20), "
                    "jp VARCHAR(20) CHARACTER SET sjis, q VARCHAR(20) CHARACTER SET ascii)")
        cur.execute("INSERT INTO t VALUES (1, 0x41FF42, _sjis 0x82A0, 'why?'), (2, 'plain', 'ok', '?'),"
                    " (3, 0xFE, NULL, NULL)")
        cur.execute("ALTER TABLE t MODIFY code VARCHAR(20) CHARACTER SET ascii")
    my.commit()
    my.close()
    params = params_for(lab, pg_db)
    dest = tmp_path / "live"
    run_live_copy(params, [mysql_db], dest)
    return params, mf.read_manifest(str(dest)), pg_db


def test_bytes_without_unicode_form_are_reported_with_key_and_column(copied, pg_connect):
    params, manifest, pg_db = copied
    pg = pg_connect(pg_db)
    with pg.cursor() as cur:
        cur.execute("SELECT code FROM %s.t ORDER BY id" % manifest["tables"][0]["schema"])
        assert [r[0] for r in cur.fetchall()] == ["A?B", "plain", "?"]     # what any utf8mb4 reader got
    pg.close()
    for mode in ("checksums", "counts"):
        report = verify(params, params, manifest, mode=mode)
        [table] = report["tables"].values()
        assert not report["ok"] and table["status"] == "differs"
        found = [(d["kind"], d["key"], d["column"], d["mysql_hex"]) for d in table["differences"]]
        assert found == [("unrepresentable_text", {"id": 1}, "code", "41FF42"),
                         ("unrepresentable_text", {"id": 3}, "code", "FE")]
        assert "'?'" in table["differences"][0]["reason"]
