"""Shared fixtures: the engine on sys.path, and connections to the lab's real servers."""
import json
import os
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))
LAB_JSON = os.path.join(ROOT, ".lab", "lab.json")
SHARED = os.path.normpath(os.path.join(ROOT, os.pardir, "shared"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/integration/" in str(item.fspath) or "tests/molecule/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def lab():
    """The lab's connection facts (run `make lab-up` first); integration tests fail, not skip."""
    if not os.path.exists(LAB_JSON):
        pytest.fail("the lab is not up: run `make lab-up` (writes .lab/lab.json)")
    with open(LAB_JSON) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def shared_data():
    path = os.path.join(SHARED, "data")
    if not os.path.isdir(path):
        pytest.fail("../shared/data not found beside the repo")
    return path


@pytest.fixture(scope="session")
def mysql_connect(lab):
    import pymysql

    def connect(database=None, **kw):
        m = lab["mysql"]
        return pymysql.connect(host=m["host"], port=m["port"], user=m["user"],
                               password=m["password"], database=database, charset="utf8mb4",
                               autocommit=True, **kw)
    return connect


@pytest.fixture(scope="session")
def pg_connect(lab):
    import psycopg2

    def connect(database=None, **kw):
        p = lab["postgresql"]
        conn = psycopg2.connect(host=p["host"], port=p["port"], user=p["user"],
                                password=p["password"], dbname=database or p["database"], **kw)
        return conn
    return connect


def _unique(prefix):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:10])


@pytest.fixture
def mysql_db(mysql_connect):
    """A fresh MariaDB database, dropped afterwards. Yields its name."""
    name = _unique("t")
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)
    try:
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % name)
        conn.close()


@pytest.fixture
def pg_db(pg_connect):
    """A fresh PostgreSQL database (pgvector available), dropped afterwards. Yields its name."""
    name = _unique("t")
    conn = pg_connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    try:
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        conn.close()


@pytest.fixture
def new_pg_database(pg_connect):
    """A factory of fresh PostgreSQL databases (more than pg_db's one), all dropped afterwards."""
    made = []

    def make():
        name = _unique("t")
        conn = pg_connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('CREATE DATABASE "%s"' % name)
        conn.close()
        made.append(name)
        return name
    yield make
    conn = pg_connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in made:
            cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    conn.close()
