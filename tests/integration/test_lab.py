"""The lab is real: a row goes through MariaDB, and pgvector answers a nearest-neighbour query."""


def test_mariadb_write_and_read(mysql_db, mysql_connect):
    conn = mysql_connect(mysql_db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, label VARCHAR(20)) ENGINE=InnoDB")
        cur.execute("INSERT INTO t VALUES (1, %s)", ("héllo 🌍",))
        cur.execute("SELECT label FROM t WHERE id = 1")
        assert cur.fetchone() == ("héllo 🌍",)
        cur.execute("SELECT VERSION()")
        assert "MariaDB" in cur.fetchone()[0]


def test_pgvector_nearest_neighbour(pg_db, pg_connect):
    conn = pg_connect(pg_db)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        major, minor = (int(x) for x in cur.fetchone()[0].split(".")[:2])
        assert (major, minor) >= (0, 5), "HNSW needs pgvector >= 0.5"
        cur.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))")
        cur.execute("INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]')")
        cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
        cur.execute("SELECT id FROM items ORDER BY embedding <=> '[1,0.05,0]' LIMIT 2")
        assert [r[0] for r in cur.fetchall()] == [1, 3]
    conn.close()
