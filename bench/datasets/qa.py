"""Guide-shaped Q&A tables, deterministic and seeded, at any size and dimension.

    rows = list(embedding_rows(rows=1000, dimensions=1536, seed=7))     # dicts, same seed -> same data
    load_mariadb(conn, rows=1000, dimensions=1536, seed=7)              # content + content_embedding
    copy_mariadb_to_pg(my_conn, pg_conn, "public")                     # the text as-is, via COPY

The shape is the guide's application (seeds/003): `content` (id, title, body) and
`content_embedding` (id, contentId, chunkIndex, chunkText, embedding LONGTEXT) where each embedding
is a JSON object {"0":v0,"1":v1,...} whose values are float32s written the way an embeddings API
returns them (shortest float32 text). Chunk text carries quotes, parentheses, backslashes, tabs,
newlines and emoji. Every `null_every`-th embedding is NULL. `bad` injects invalid embeddings by
row id for the policy tests: kinds in BAD_KINDS.

Speed: values are drawn from a seeded pool of pre-formatted float32 texts (formatting each value
costs ~350 ns in CPython), so 20,000 x 1536 rows generate in a few seconds.
"""
import io
import json
import random
import sys
from array import array

CONTENT_DDL = """CREATE TABLE content (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title VARCHAR(255) NOT NULL,
  body LONGTEXT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""
EMBEDDING_DDL = """CREATE TABLE content_embedding (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `contentId` INT UNSIGNED NOT NULL,
  `chunkIndex` INT NOT NULL,
  `chunkText` LONGTEXT NOT NULL,
  embedding LONGTEXT,
  KEY idx_content (`contentId`),
  CONSTRAINT fk_embedding_content FOREIGN KEY (`contentId`) REFERENCES content (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""
CHUNKS_PER_CONTENT = 8
POOL_SIZE = 1 << 16  # indexed by 16-bit random numbers
BAD_KINDS = ("short", "nan", "string", "missing", "extra", "infinity", "empty", "not_json",
             "halfvec_overflow", "string_order")

_SNIPPETS = (
    'He said "vectors" aren\'t rows (really).', "Line one\nline two\n", "tab\there",
    "back\\slash C:\\path", "emoji 🚀🧠 and accents: déjà vu, Łódź", "(nested (parentheses)) [brackets]",
    "SQL-ish: INSERT INTO t VALUES ('x');", "percent 100% & ampersand", "μ-law ∑ ≈ ∞",
)


def _value_pool(seed):
    """POOL_SIZE float32 texts, gaussian(0, 0.04): like a normalised 1536-dimension embedding."""
    rng = random.Random(seed * 7919 + 1)
    from ansible_collections.pgshift.mysql.plugins.module_utils.model.float32 import float32_texts

    return float32_texts(array("f", [rng.gauss(0.0, 0.04) for _ in range(POOL_SIZE)]))


def _key_prefixes(dimensions):
    return ['"%d":' % i for i in range(dimensions)]


def embedding_json(texts, prefixes=None):
    """{"0":t0,"1":t1,...} from number texts (the guide's app format, compact)."""
    prefixes = prefixes or _key_prefixes(len(texts))
    return "{" + ",".join(map(str.__add__, prefixes, texts)) + "}"


def bad_embedding(kind, texts):
    """An invalid (or, for string_order, valid but unusually ordered) embedding of `kind`."""
    n = len(texts)
    pairs = list(zip(map(str, range(n)), texts, strict=True))
    if kind == "short":
        pairs = pairs[:-1]
    elif kind == "nan":
        pairs[min(3, n - 1)] = (str(min(3, n - 1)), "NaN")
    elif kind == "string":
        pairs[min(5, n - 1)] = (str(min(5, n - 1)), '"0.5"')
    elif kind == "missing":  # key "17" (or the last one for small vectors) replaced by key "n"
        gone = min(17, n - 1)
        pairs = pairs[:gone] + pairs[gone + 1:] + [(str(n), texts[gone])]
    elif kind == "extra":
        pairs.append((str(n), "0.25"))
    elif kind == "infinity":
        pairs[2] = ("2", "Infinity")
    elif kind == "empty":
        return "{}"
    elif kind == "not_json":
        return "{\"0\":0.1,"
    elif kind == "halfvec_overflow":
        pairs[1] = ("1", "70000.5")
    elif kind == "string_order":
        pairs.sort(key=lambda kv: kv[0])
    else:
        raise ValueError("unknown bad embedding kind %r (one of %s)" % (kind, ", ".join(BAD_KINDS)))
    return "{" + ",".join('"%s":%s' % kv for kv in pairs) + "}"


def _chunk_text(rng, content_id, chunk):
    words = rng.choices(("migration", "vector", "index", "cosine", "chunk", "answer", "table"), k=6)
    return "Chunk %d of content %d: %s %s" % (chunk, content_id, " ".join(words), rng.choice(_SNIPPETS))


def content_rows(rows, seed=7):
    """The `content` rows the embedding rows refer to: (id, title, body)."""
    rng = random.Random(seed)
    for cid in range(1, (rows + CHUNKS_PER_CONTENT - 1) // CHUNKS_PER_CONTENT + 1):
        yield (cid, "Title %d: %s" % (cid, rng.choice(_SNIPPETS)[:40]),
               "Body of %d.\n%s" % (cid, rng.choice(_SNIPPETS)))


def embedding_rows(rows, dimensions=1536, seed=7, null_every=50, bad=None):
    """content_embedding rows as tuples (id, contentId, chunkIndex, chunkText, embedding or None)."""
    bad = bad or {}
    rng = random.Random(seed)
    pool = _value_pool(seed)
    prefixes = _key_prefixes(dimensions)
    for rid in range(1, rows + 1):
        cid, chunk = (rid - 1) // CHUNKS_PER_CONTENT + 1, (rid - 1) % CHUNKS_PER_CONTENT
        texts = list(map(pool.__getitem__, array("H", rng.randbytes(2 * dimensions))))
        if rid in bad:
            emb = bad_embedding(bad[rid], texts)
        elif null_every and rid % null_every == 0:
            emb = None
        else:
            emb = embedding_json(texts, prefixes)
        yield (rid, cid, chunk, _chunk_text(rng, cid, chunk), emb)


def expected_vector(embedding):
    """The float32 values a valid JSON-object embedding stands for (by integer key)."""
    doc = json.loads(embedding)
    return list(array("f", [doc[str(i)] for i in range(len(doc))]))


# ---------------------------------------------------------------------------------------------
# MariaDB

def create_mariadb_tables(conn):
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS content_embedding")
        cur.execute("DROP TABLE IF EXISTS content")
        cur.execute(CONTENT_DDL)
        cur.execute(EMBEDDING_DDL)


def load_mariadb(conn, rows, dimensions=1536, seed=7, *, null_every=50, bad=None, batch_bytes=4 << 20):
    """(Re)create and fill content + content_embedding through `conn` (PyMySQL, in its database).

    executemany in batches of about `batch_bytes` (below max_allowed_packet), one commit each.
    Returns {"content": n, "content_embedding": n, "null_embeddings": n}.
    """
    create_mariadb_tables(conn)
    with conn.cursor() as cur:
        contents = list(content_rows(rows, seed))
        cur.executemany("INSERT INTO content (id, title, body) VALUES (%s, %s, %s)", contents)
        sql = ("INSERT INTO content_embedding (id, `contentId`, `chunkIndex`, `chunkText`, embedding) "
               "VALUES (%s, %s, %s, %s, %s)")
        pending, size, nulls = [], 0, 0
        for row in embedding_rows(rows, dimensions, seed, null_every, bad):
            nulls += row[4] is None
            pending.append(row)
            size += len(row[3]) + len(row[4] or "")
            if size >= batch_bytes:
                cur.executemany(sql, pending)
                conn.commit()
                pending, size = [], 0
        if pending:
            cur.executemany(sql, pending)
        conn.commit()
    return {"content": len(contents), "content_embedding": rows, "null_embeddings": nulls}


# ---------------------------------------------------------------------------------------------
# MariaDB -> PostgreSQL, text as-is (what a user who "loaded with something else" has)

PG_TEXT_DDL = {
    "content": 'CREATE TABLE {s}.content (id bigint PRIMARY KEY, title text NOT NULL, body text)',
    "content_embedding": ('CREATE TABLE {s}.content_embedding (id integer PRIMARY KEY, "contentId" bigint '
                          'NOT NULL, "chunkIndex" integer NOT NULL, "chunkText" text NOT NULL, '
                          'embedding {t})'),
}
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _CopyStream(io.RawIOBase):
    """A file-like COPY text stream over an iterator of rows (copy_expert reads it in chunks)."""

    def __init__(self, rows):
        self._lines = (self._line(r) for r in rows)
        self._buffer = b""

    @staticmethod
    def _line(row):
        return ("\t".join("\\N" if v is None else str(v).translate(_COPY_ESCAPES) for v in row)
                + "\n").encode("utf-8")

    def readable(self):
        return True

    def readinto(self, target):
        while len(self._buffer) < len(target):
            chunk = next(self._lines, None)
            if chunk is None:
                break
            self._buffer += chunk
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def copy_mariadb_to_pg(my_conn, pg_conn, schema="public", embedding_type="text", tables=None):
    """Stream content + content_embedding from MariaDB (unbuffered cursor) into PostgreSQL with COPY.

    The embedding column keeps its text (as `embedding_type`: text, json or jsonb). Returns row counts.
    """
    import pymysql.cursors

    counts = {}
    for table in tables or ("content", "content_embedding"):
        with pg_conn.cursor() as pcur:
            pcur.execute("CREATE SCHEMA IF NOT EXISTS %s" % schema)
            pcur.execute("DROP TABLE IF EXISTS %s.%s" % (schema, table))
            pcur.execute(PG_TEXT_DDL[table].format(s=schema, t=embedding_type))
        cols = ("id, title, body" if table == "content"
                else "id, `contentId`, `chunkIndex`, `chunkText`, embedding")
        cur = my_conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute("SELECT %s FROM %s ORDER BY id" % (cols, table))
            seen = [0]

            def rows(cursor=cur, seen=seen):
                for row in cursor:
                    seen[0] += 1
                    yield row
            with pg_conn.cursor() as pcur:
                pcur.copy_expert("COPY %s.%s FROM STDIN" % (schema, table),
                                 io.BufferedReader(_CopyStream(rows()), 1 << 20))
            counts[table] = seen[0]
        finally:
            cur.close()
    pg_conn.commit()
    return counts


def main(argv):
    """python -m bench.datasets.qa ROWS DIMENSIONS: print one row's JSON length and timing (smoke)."""
    import time

    rows, dims = int(argv[0]), int(argv[1])
    start = time.perf_counter()
    total = sum(len(r[4] or "") for r in embedding_rows(rows, dims))
    sys.stdout.write("%d rows, %d bytes of JSON, %.2f s\n" % (rows, total, time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
