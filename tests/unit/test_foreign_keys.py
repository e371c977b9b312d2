"""model.foreign_keys and the names of foreign keys, on hand-written dumps (no server)."""
from ansible_collections.pgshift.mysql.plugins.module_utils.model.foreign_keys import align_referencing_types
from test_transform import manifest, transform

# A hand-written dump: unnamed FOREIGN KEY clauses (mysqldump always writes the server's names)
BODY = (b"CREATE TABLE `c` (`id` int NOT NULL, `a_id` bigint unsigned, `b_id` bigint unsigned,"
        b" `code` varchar(5), PRIMARY KEY (`id`),"
        b" FOREIGN KEY (`a_id`) REFERENCES `p` (`id`), FOREIGN KEY (`b_id`) REFERENCES `p` (`id`),"
        b" FOREIGN KEY (`code`) REFERENCES `p` (`code`));\n"
        b"CREATE TABLE `p` (`id` bigint unsigned NOT NULL AUTO_INCREMENT, `code` char(5),"
        b" PRIMARY KEY (`id`), UNIQUE KEY (`code`));\n")


def _fks(m):
    child = next(t for t in m["tables"] if t["name"] == "c")
    return child, [e for e in child["post_data"] if e["kind"] == "foreign_key"]


def test_unnamed_foreign_keys_get_distinct_postgresql_names(tmp_path):
    _, dest = transform(tmp_path, BODY, default_schema="db1")
    _, fks = _fks(manifest(dest))
    assert [e["name"] for e in fks] == ["c_a_id_fkey", "c_b_id_fkey", "c_code_fkey"]


def test_integer_referencing_columns_aligned_once_and_first(tmp_path):
    _, dest = transform(tmp_path, BODY, default_schema="db1")
    m = manifest(dest)
    child, _ = _fks(m)
    steps = [e for e in child["post_data"] if e["kind"] == "column_type"]
    assert [s["sql"] for s in steps] == ['ALTER TABLE "db1"."c" ALTER COLUMN "b_id" TYPE bigint;',
                                         'ALTER TABLE "db1"."c" ALTER COLUMN "a_id" TYPE bigint;']
    types = {c["name"]: c["pg_type"] for c in child["columns"]}
    assert types["a_id"] == types["b_id"] == "bigint"
    # char(5) -> varchar(5) is no integer mismatch: left to PostgreSQL (which accepts it)
    assert types["code"] == "varchar(5)"
    before = [dict(e) for e in child["post_data"]], list(m["warnings"])
    align_referencing_types(m)   # a second pass (a rerun) adds nothing
    assert ([dict(e) for e in child["post_data"]], m["warnings"]) == before
    assert (tmp_path / "out" / "post-data.sql").read_text().index("ALTER COLUMN") < \
        (tmp_path / "out" / "post-data.sql").read_text().index("PRIMARY KEY")
