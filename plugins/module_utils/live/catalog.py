"""The live reader's schema: information_schema -> schema_model.Table (the model the dump reader builds).

    tables = read_catalog(cursor, "sakila", flavor="mariadb")   # [Table, ...] base tables, by name
    table_sizes(cursor, "sakila") -> {"actor": (rows_estimate, data_bytes)}
    schema_statements(cursor, "sakila") -> ([CREATE VIEW ..., ...], [CREATE TRIGGER ..., ...])  # bytes

The Tables then go through the same typemap/DDL generation as the dump path's (one engine, two
readers). Where information_schema and SHOW CREATE TABLE spell the same thing differently, this module
normalises to what the dump reader sees:
  * MariaDB JSON columns are longtext + CHECK (json_valid(`c`)): the same helper as the dump reader
    turns them back into json (and drops that check);
  * FK actions: information_schema says RESTRICT where SHOW CREATE TABLE says nothing;
  * index kinds from NON_UNIQUE/INDEX_TYPE; prefix lengths from SUB_PART; DESC from COLLATION 'D'.
"""
from ..model.mysql_ddl import _json_checks_to_json_type
from ..model.schema import Check, ForeignKey, Index, IndexPart, Table, column_from_information_schema
from ..quoting import mysql_ident

_TABLES_SQL = """
SELECT TABLE_NAME, ENGINE, AUTO_INCREMENT, TABLE_COMMENT, TABLE_COLLATION, CREATE_OPTIONS,
       TABLE_ROWS, DATA_LENGTH
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'
ORDER BY TABLE_NAME"""

_COLUMNS_SQL = """
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME,
       COLLATION_NAME, GENERATION_EXPRESSION, COLUMN_COMMENT
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = %s
ORDER BY TABLE_NAME, ORDINAL_POSITION"""

_INDEXES_SQL = """
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION,
       INDEX_COMMENT
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = %s"""  # no ORDER BY: the natural order is the table's key order (SHOW CREATE's)

_FKS_SQL = """
SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA,
       k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
 AND r.TABLE_NAME = k.TABLE_NAME
WHERE k.TABLE_SCHEMA = %s AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"""

_CHECKS_SQL_MARIADB = """
SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = %s
ORDER BY TABLE_NAME, CONSTRAINT_NAME"""

_CHECKS_SQL_MYSQL = """
SELECT t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS c
JOIN information_schema.TABLE_CONSTRAINTS t
  ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME
WHERE c.CONSTRAINT_SCHEMA = %s AND t.CONSTRAINT_TYPE = 'CHECK'
ORDER BY t.TABLE_NAME, c.CONSTRAINT_NAME"""


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value


def _rows(cur, sql, schema):
    cur.execute(sql, (schema,))
    return [tuple(_text(v) for v in row) for row in cur.fetchall()]


def _index_kind(index_name, non_unique, index_type):
    if index_name == "PRIMARY":
        return "primary"
    if (index_type or "").upper() in ("FULLTEXT", "SPATIAL"):
        return index_type.lower()
    return "index" if int(non_unique) else "unique"


def _fk_action(rule):
    """information_schema spells the default RESTRICT; SHOW CREATE TABLE leaves it out."""
    rule = (rule or "").upper()
    return None if rule in ("", "RESTRICT") else rule


def _add_columns(by_name, rows, flavor):
    for (tname, name, ctype, nullable, default, extra, charset, collation, gen, comment) in rows:
        table = by_name.get(tname)
        if table is None:
            continue  # a view's columns
        table.columns.append(column_from_information_schema(
            name, ctype, is_nullable=nullable, column_default=default, extra=extra,
            character_set_name=charset, generation_expression=gen or None, comment=comment or None,
            collation_name=collation, flavor=flavor))


def _add_indexes(by_name, rows):
    current = {}
    for (tname, iname, non_unique, _seq, column, sub_part, itype, collation, comment) in rows:
        table = by_name.get(tname)
        if table is None:
            continue
        idx = current.get((tname, iname))
        if idx is None:
            kind = _index_kind(iname, non_unique, itype)
            using = (itype or "").lower() if (itype or "").upper() == "HASH" else None
            idx = Index(None if kind == "primary" else iname, kind, using=using, comment=comment or None)
            current[(tname, iname)] = idx
            table.indexes.append(idx)
        idx.parts.append(IndexPart(column or "", length=int(sub_part) if sub_part else None,
                                   descending=collation == "D"))


def _add_foreign_keys(by_name, rows):
    current = {}
    for (tname, cname, column, ref_schema, ref_table, ref_column, on_update, on_delete) in rows:
        table = by_name.get(tname)
        if table is None:
            continue
        fk = current.get((tname, cname))
        if fk is None:
            # SHOW CREATE TABLE names the referenced database only when it is another one
            other_db = None if ref_schema == table.schema else ref_schema
            fk = ForeignKey(cname, [], ref_table, [], ref_schema=other_db,
                            on_delete=_fk_action(on_delete), on_update=_fk_action(on_update))
            current[(tname, cname)] = fk
            table.foreign_keys.append(fk)
        fk.columns.append(column)
        fk.ref_columns.append(ref_column)


def _add_checks(cur, by_name, schema, flavor):
    sql = _CHECKS_SQL_MARIADB if flavor == "mariadb" else _CHECKS_SQL_MYSQL
    try:
        rows = _rows(cur, sql, schema)
    except Exception:  # noqa: BLE001 - servers before CHECK support have no such table
        return
    for tname, cname, clause in rows:
        table = by_name.get(tname)
        if table is not None:
            table.checks.append(Check(cname, clause))


def read_catalog(cur, schema, flavor="mariadb", tables=None):
    """Base tables of one MySQL database as schema_model.Table objects (in name order)."""
    by_name = {}
    for (name, engine, auto_inc, comment, collation, options, _rows_est, _data) in _rows(cur, _TABLES_SQL,
                                                                                         schema):
        if tables is not None and name not in tables:
            continue
        t = Table(schema=schema, name=name, engine=engine, collation=collation,
                  auto_increment=int(auto_inc) if auto_inc is not None else None,
                  comment=comment or None)
        if collation:
            t.charset = collation.split("_")[0]
        if "partitioned" in (options or "").lower():
            t.partitioned = True
            t.warnings.append("table %r is partitioned in MySQL: loaded as a plain table" % name)
        by_name[name] = t
    _add_columns(by_name, _rows(cur, _COLUMNS_SQL, schema), flavor)
    _add_indexes(by_name, _rows(cur, _INDEXES_SQL, schema))
    _add_foreign_keys(by_name, _rows(cur, _FKS_SQL, schema))
    _add_checks(cur, by_name, schema, flavor)
    for table in by_name.values():
        _json_checks_to_json_type(table)
    return list(by_name.values())


def table_sizes(cur, schema):
    """{table: (estimated rows, data bytes)} from information_schema (estimates: for ordering only)."""
    return {r[0]: (int(r[6] or 0), int(r[7] or 0)) for r in _rows(cur, _TABLES_SQL, schema)}


def server_flavor(cur):
    """('mariadb'|'mysql', version string)."""
    cur.execute("SELECT VERSION()")
    version = _text(cur.fetchone()[0])
    return ("mariadb" if "mariadb" in version.lower() else "mysql"), version


# (SHOW CREATE <kind>, the query listing that kind's names in one database, index of the statement in
# SHOW CREATE's row). The statements are those mysqldump writes, so both readers parse the same text.
_SCHEMA_OBJECTS = (
    ("VIEW", "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s ORDER BY 1", 1),
    ("TRIGGER", "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s"
                " ORDER BY 1", 2),
    ("PROCEDURE", "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
                  " AND ROUTINE_TYPE = 'PROCEDURE' ORDER BY 1", 2),
    ("FUNCTION", "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
                 " AND ROUTINE_TYPE = 'FUNCTION' ORDER BY 1", 2),
    ("EVENT", "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s ORDER BY 1", 3),
)


def schema_statements(cur, schema):
    """(CREATE VIEW statements, CREATE TRIGGER/PROCEDURE/FUNCTION/EVENT statements) of one database, as
    bytes. A routine whose body the user may not read (SHOW CREATE gives NULL) is still listed."""
    views, routines = [], []
    # as mysqldump: SHOW CREATE qualifies names of other databases only, so the text matches a dump's
    cur.execute("USE %s" % mysql_ident(schema))
    for kind, list_sql, column in _SCHEMA_OBJECTS:
        for (name,) in _rows(cur, list_sql, schema):
            cur.execute("SHOW CREATE %s %s.%s" % (kind, mysql_ident(schema), mysql_ident(name)))
            row = cur.fetchone()
            text = row[column] if row and len(row) > column else None
            if text is None:
                text = "CREATE %s %s /* body not readable by this user */" % (kind, mysql_ident(name))
            text = text.encode("utf-8") if isinstance(text, str) else bytes(text)
            (views if kind == "VIEW" else routines).append(text)
    return views, routines
