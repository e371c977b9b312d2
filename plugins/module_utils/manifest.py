"""The migration dir's manifest.json (docs/contracts.md): build, write atomically, read.

Usage:
    from ansible_collections.pgshift.mysql.plugins.module_utils import manifest as mf

    m = mf.new_manifest(source={"kind": "dump", "path": "/x/dump.sql"}, options={...})
    m["tables"].append(mf.table_entry("sakila", "actor", source_schema="sakila", source_name="actor",
                                      columns=[mf.column_entry(...)], primary_key=["actor_id"], ...))
    mf.write_manifest(dest, m)                  # in progress: "complete": false
    mf.write_manifest(dest, m, complete=True)   # only once every file is whole
    m = mf.read_manifest(dest)                  # MigrationError unless complete
    m = mf.read_manifest(dest, require_complete=False)
    m = mf.read_optional_manifest(src)          # None when src is empty
    mf.data_file(dest, "sakila", "actor")       # -> <dest>/data/sakila.actor.copy
    mf.find_table(m, "sakila", "actor")

Writes go to manifest.json.tmp-<pid> then os.replace(): a reader never sees a half-written file.
"""
import contextlib
import datetime
import fnmatch
import json
import os

from .errors import MigrationError, write_error

FORMAT = 1
MANIFEST_NAME = "manifest.json"
PRE_DATA = "pre-data.sql"
POST_DATA = "post-data.sql"
DATA_DIR = "data"
REJECTS_DIR = "rejects"
POST_DATA_KINDS = ("primary_key", "unique", "index", "foreign_key", "trigger", "comment", "check", "view")


def make_private_dirs(path):
    """mkdir -p with mode 0700 for every directory it creates (os.makedirs gives the mode to the
    last one only): a migration dir holds the whole database. Existing ones are left as they are."""
    missing, path = [], os.path.abspath(path)
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)


def open_private(path, mode="wb", **kwargs):
    """open() for a migration dir's files (data, rejects, manifest, reports): created mode 0600,
    whatever the umask; an existing file keeps its mode (os.open's mode only applies on create)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as err:
        raise write_error(err, path) from None
    return os.fdopen(fd, mode, **kwargs)


def write_text(path, text):
    """A small text file written whole, mode 0600, a write error named (file, bytes, free space)."""
    data = text.encode("utf-8")
    try:
        with open_private(path) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        raise write_error(err, path, len(data)) from None


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_manifest(source, options, created_at=None):
    return {"format": FORMAT, "complete": False, "created_at": created_at or utc_now(),
            "source": dict(source), "options": dict(options), "schemas": [], "tables": [],
            "views": [], "routines": [], "warnings": []}


def column_entry(name, source_name, source_type, pg_type, *, nullable=True, identity=False, default=None,
                 embedding=None, **extra):
    entry = {"name": name, "source_name": source_name, "source_type": source_type, "pg_type": pg_type,
             "nullable": nullable, "identity": identity, "default": default, "embedding": embedding}
    entry.update(extra)
    return entry


def table_entry(schema, name, *, source_schema, source_name, columns, primary_key=None, auto_increment=None,
                create_sql="", post_data=None, rows=0, nbytes=0, rejected=0, warnings=None, **extra):
    entry = {"schema": schema, "name": name, "source_schema": source_schema, "source_name": source_name,
             "columns": list(columns), "primary_key": list(primary_key or []),
             "auto_increment": auto_increment, "create_sql": create_sql,
             "post_data": list(post_data or []),
             "data_file": "%s/%s.%s.copy" % (DATA_DIR, schema, name),
             "rows": rows, "bytes": nbytes, "rejected": rejected, "warnings": list(warnings or [])}
    entry.update(extra)
    return entry


def post_data_entry(kind, name, sql):
    if kind not in POST_DATA_KINDS:
        raise ValueError("unknown post_data kind %r" % kind)
    return {"kind": kind, "name": name, "sql": sql}


def data_file(dest, schema, table):
    return os.path.join(dest, DATA_DIR, "%s.%s.copy" % (schema, table))


def reject_files(dest, schema, table):
    """(<dest>/rejects/<schema>.<table>.copy, ... .log)"""
    base = os.path.join(dest, REJECTS_DIR, "%s.%s" % (schema, table))
    return base + ".copy", base + ".log"


def table_wanted(db, name, include=None, exclude=None):
    """The include_tables / exclude_tables rule of transform, live_copy and verify: globs on
    `table` or `db.table`; no include list means every table."""
    keys = ("%s.%s" % (db, name), name)

    def hit(patterns):
        return any(fnmatch.fnmatchcase(k, p) for p in patterns for k in keys)
    return (not include or hit(include)) and not hit(exclude or [])


def find_table(manifest, schema, name):
    for t in manifest.get("tables", []):
        if t["schema"] == schema and t["name"] == name:
            return t
    return None


def write_manifest(dest, manifest, complete=False):
    """Atomically (tmp + fsync + rename) write manifest.json; sets manifest['complete']."""
    manifest["complete"] = bool(complete)
    make_private_dirs(dest)
    path = os.path.join(dest, MANIFEST_NAME)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        write_text(tmp, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    except MigrationError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.replace(tmp, path)
    return path


def read_manifest(dest, require_complete=True):
    """The manifest of a migration dir (or of a manifest.json path), format and completeness checked."""
    path = dest if os.path.basename(dest) == MANIFEST_NAME and not os.path.isdir(dest) else \
        os.path.join(dest, MANIFEST_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise MigrationError("read manifest: %r not found (not a migration dir?)" % path) from None
    except (OSError, ValueError) as err:
        raise MigrationError("read manifest: %r is not valid JSON: %s" % (path, err)) from None
    if manifest.get("format") != FORMAT:
        raise MigrationError("read manifest: %r has format %r, expected %d"
                             % (path, manifest.get("format"), FORMAT))
    if require_complete and not manifest.get("complete"):
        raise MigrationError("read manifest: %r is not marked complete (the transform did not finish)" % path)
    return manifest


def read_optional_manifest(src):
    """read_manifest(src), or None when no migration dir is given (steps that can run without one)."""
    return read_manifest(src) if src else None
