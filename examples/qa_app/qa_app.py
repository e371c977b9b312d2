#!/usr/bin/env python3
"""A small Q&A service over `content` / `content_embedding`, on MySQL/MariaDB or PostgreSQL.

It is the application that cutover.yml and rollback.yml switch and smoke-test on the lab:

    GET  /healthz              {"status": "ok", "backend": "postgresql"}   (never in maintenance)
    GET  /qa/history?limit=N   the last questions asked (table qa_history)
    POST /qa/ask {"question"}  nearest chunks of content_embedding, answer stored in qa_history
    POST /content {"title", "body"}  a new content row and its chunk embeddings

Configuration comes from an env file (KEY=VALUE lines; --env-file), like a twelve-factor app:
    DATABASE_URL   mysql://user:pw@host:3306/db  or  postgresql://user:pw@host:5432/db?schema=s
                   (`schema` is Prisma's convention: the PostgreSQL search_path)
    QA_APP_LISTEN  127.0.0.1:8089
    QA_APP_STATE_DIR  where the `maintenance` flag file lives
    QA_APP_BYPASS_TOKEN  requests with header X-Maintenance-Bypass: <token> are served during
                   maintenance (the smoke tests use it before maintenance is switched off)

Nearest neighbours: on PostgreSQL with pgvector's cosine distance `<=>` (HNSW index); on MySQL the
JSON embeddings ({"0": 0.1, ...} or [0.1, ...]) are scanned and ranked in Python.
Only the standard library plus the driver of the backend in use (PyMySQL or psycopg2).
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = re.compile(r"[a-z0-9]+")
MAX_BODY = 1 << 20


# ----------------------------------------------------------------------------------------------
# Embeddings: deterministic feature hashing, so demo data and questions share one vector space.
# ----------------------------------------------------------------------------------------------
def embed(text, dimensions):
    """A unit vector of `dimensions` floats from the words of `text` (signed feature hashing)."""
    vec = [0.0] * dimensions
    for word in TOKEN.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimensions
        vec[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [round(v / norm, 6) for v in vec]


def parse_embedding(value):
    """MySQL JSON object {"0": x, ...}, JSON array or pgvector text -> list of floats."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    if isinstance(value, list):
        return [float(v) for v in value]
    data = json.loads(value)
    if isinstance(data, dict):
        return [float(data[str(i)]) for i in range(len(data))]
    return [float(v) for v in data]


def cosine_distance(a, b):
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return 1.0 - dot / (na * nb)


# ----------------------------------------------------------------------------------------------
# Backends
# ----------------------------------------------------------------------------------------------
class Backend:
    """What the handlers need from a database; one subclass per engine."""

    name = "?"

    def __init__(self, url):
        self.url = url
        self.local = threading.local()

    def conn(self):
        conn = getattr(self.local, "conn", None)
        if conn is None or not self.alive(conn):
            conn = self.local.conn = self.connect()
        return conn

    def q(self, ident):
        raise NotImplementedError


class MySQLBackend(Backend):
    name = "mysql"

    def connect(self):
        import pymysql

        u = self.url
        return pymysql.connect(host=u.hostname or "127.0.0.1", port=u.port or 3306,
                               user=urllib.parse.unquote(u.username or ""),
                               password=urllib.parse.unquote(u.password or ""),
                               database=u.path.lstrip("/"), charset="utf8mb4", autocommit=True)

    @staticmethod
    def alive(conn):
        try:
            conn.ping(reconnect=True)
            return True
        except Exception:  # noqa: BLE001 - any failure means: reconnect
            return False

    def q(self, ident):
        return "`%s`" % ident

    def dimensions(self):
        with self.conn().cursor() as cur:
            cur.execute("SELECT embedding FROM content_embedding WHERE embedding IS NOT NULL LIMIT 1")
            row = cur.fetchone()
        return len(parse_embedding(row[0])) if row else 0

    def nearest(self, vector, limit):
        """Scan every embedding (streamed) and keep the `limit` closest chunks."""
        import pymysql

        best = []
        conn = self.conn()
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute("SELECT e.id, e.`contentId`, e.`chunkText`, e.embedding, c.title "
                        "FROM content_embedding e JOIN content c ON c.id = e.`contentId` "
                        "WHERE e.embedding IS NOT NULL")
            for chunk_id, content_id, text, emb, title in cur:
                best.append((cosine_distance(vector, parse_embedding(emb)), chunk_id, content_id,
                             text, title))
                best.sort(key=lambda item: item[0])
                del best[limit:]
        return best

    def placeholder(self):
        return "%s"


class PostgreSQLBackend(Backend):
    name = "postgresql"

    def connect(self):
        import psycopg2

        u = self.url
        params = dict(urllib.parse.parse_qsl(u.query))
        schema = params.pop("schema", None)
        conn = psycopg2.connect(host=u.hostname or "127.0.0.1", port=u.port or 5432,
                                user=urllib.parse.unquote(u.username or ""),
                                password=urllib.parse.unquote(u.password or ""),
                                dbname=u.path.lstrip("/"), application_name="qa_app", **params)
        conn.autocommit = True
        if schema:
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('search_path', %s, false)", ("%s, public" % self.q(schema),))
        return conn

    @staticmethod
    def alive(conn):
        return not conn.closed

    def q(self, ident):
        return '"%s"' % ident

    def dimensions(self):
        with self.conn().cursor() as cur:
            cur.execute("SELECT vector_dims(embedding) FROM content_embedding "
                        "WHERE embedding IS NOT NULL LIMIT 1")
            row = cur.fetchone()
        return row[0] if row else 0

    def nearest(self, vector, limit):
        literal = "[%s]" % ",".join(repr(v) for v in vector)
        with self.conn().cursor() as cur:
            cur.execute('SELECT e.embedding <=> %s::vector AS distance, e.id, e."contentId", '
                        'e."chunkText", c.title FROM content_embedding e '
                        'JOIN content c ON c.id = e."contentId" WHERE e.embedding IS NOT NULL '
                        'ORDER BY e.embedding <=> %s::vector LIMIT %s', (literal, literal, limit))
            return [tuple(row) for row in cur.fetchall()]

    def placeholder(self):
        return "%s"


def backend_for(database_url):
    url = urllib.parse.urlsplit(database_url)
    scheme = url.scheme.split("+")[0]
    if scheme in ("mysql", "mariadb"):
        return MySQLBackend(url)
    if scheme in ("postgres", "postgresql"):
        return PostgreSQLBackend(url)
    raise SystemExit("qa_app: DATABASE_URL scheme %r is neither mysql:// nor postgresql://" % url.scheme)


# ----------------------------------------------------------------------------------------------
# Application logic (engine-neutral SQL: placeholders %s on both drivers)
# ----------------------------------------------------------------------------------------------
class QA:
    def __init__(self, backend, state_dir, bypass_token):
        self.db = backend
        self.state_dir = state_dir
        self.bypass_token = bypass_token
        self._dims = None

    def in_maintenance(self):
        return bool(self.state_dir) and os.path.exists(os.path.join(self.state_dir, "maintenance"))

    def dimensions(self):
        if not self._dims:
            self._dims = self.db.dimensions() or 64
        return self._dims

    def history(self, limit):
        with self.db.conn().cursor() as cur:
            cur.execute("SELECT id, question, answer, created_at FROM qa_history "
                        "ORDER BY id DESC LIMIT %s", (limit,))
            rows = cur.fetchall()
        return [{"id": r[0], "question": r[1], "answer": r[2], "created_at": str(r[3])} for r in rows]

    def ask(self, question, limit=3):
        hits = self.db.nearest(embed(question, self.dimensions()), limit)
        sources = [{"chunk_id": h[1], "content_id": h[2], "title": h[4],
                    "distance": round(float(h[0]), 6)} for h in hits]
        answer = " ".join((h[3] or "")[:200] for h in hits[:1]) or "No content yet."
        with self.db.conn().cursor() as cur:
            cur.execute("INSERT INTO qa_history (question, answer, sources, created_at) "
                        "VALUES (%s, %s, %s, CURRENT_TIMESTAMP)", (question, answer, json.dumps(sources)))
        return {"question": question, "answer": answer, "sources": sources, "backend": self.db.name}

    def add_content(self, title, body):
        """A content row and one embedding per paragraph (JSON object on MySQL, vector on PG)."""
        q = self.db.q
        chunks = [p.strip() for p in body.split("\n\n") if p.strip()] or [body]
        with self.db.conn().cursor() as cur:
            if self.db.name == "postgresql":
                cur.execute("INSERT INTO content (title, body, created_at, updated_at) VALUES "
                            "(%s, %s, LOCALTIMESTAMP, LOCALTIMESTAMP) RETURNING id", (title, body))
                content_id = cur.fetchone()[0]
            else:
                cur.execute("INSERT INTO content (title, body, created_at, updated_at) VALUES "
                            "(%s, %s, NOW(), NOW())", (title, body))
                content_id = cur.lastrowid
            for index, text in enumerate(chunks):
                vector = embed(title + " " + text, self.dimensions())
                if self.db.name == "postgresql":
                    value = "[%s]" % ",".join(repr(v) for v in vector)
                else:
                    value = json.dumps({str(i): v for i, v in enumerate(vector)})
                cur.execute("INSERT INTO content_embedding (%s, %s, %s, embedding) "
                            "VALUES (%%s, %%s, %%s, %%s)" % (q("contentId"), q("chunkIndex"), q("chunkText")),
                            (content_id, index, text, value))
        return {"id": content_id, "chunks": len(chunks), "backend": self.db.name}


# ----------------------------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    app = None  # set by serve()
    server_version = "qa_app/1.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def reply(self, status, payload):
        body = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def blocked_by_maintenance(self):
        if not self.app.in_maintenance():
            return False
        token = self.app.bypass_token
        if token and self.headers.get("X-Maintenance-Bypass") == token:
            return False
        self.reply(503, {"error": "maintenance", "backend": self.app.db.name})
        return True

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body larger than %d bytes" % MAX_BODY)
        data = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(data, dict):
            raise ValueError("a JSON object is expected")
        return data

    def handle_safely(self, action):
        try:
            action()
        except ValueError as err:
            self.reply(400, {"error": str(err)})
        except Exception as err:  # noqa: BLE001 - a service answers 500 with the reason, never dies
            self.reply(500, {"error": "%s: %s" % (type(err).__name__, err), "backend": self.app.db.name})

    def do_GET(self):  # noqa: N802 - http.server naming
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/healthz":
            return self.reply(200, {"status": "ok", "backend": self.app.db.name,
                                    "maintenance": self.app.in_maintenance()})
        if self.blocked_by_maintenance():
            return None
        if url.path == "/qa/history":
            query = dict(urllib.parse.parse_qsl(url.query))
            limit = max(1, min(int(query.get("limit", "20") or 20), 500))
            return self.handle_safely(lambda: self.reply(200, {"backend": self.app.db.name,
                                                               "history": self.app.history(limit)}))
        return self.reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        if self.blocked_by_maintenance():
            return None
        if url.path == "/qa/ask":
            return self.handle_safely(self._ask)
        if url.path == "/content":
            return self.handle_safely(self._content)
        return self.reply(404, {"error": "not found"})

    def _ask(self):
        question = str(self.read_json().get("question") or "").strip()
        if not question:
            raise ValueError("field 'question' is required")
        self.reply(200, self.app.ask(question))

    def _content(self):
        data = self.read_json()
        title, body = str(data.get("title") or "").strip(), str(data.get("body") or "")
        if not title:
            raise ValueError("field 'title' is required")
        self.reply(201, self.app.add_content(title, body))


def read_env_file(path):
    env = {}
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip().strip('"').strip("'")
    return env


def serve(env):
    if not env.get("DATABASE_URL"):
        raise SystemExit("qa_app: DATABASE_URL is not set in the env file")
    host, _, port = env.get("QA_APP_LISTEN", "127.0.0.1:8089").rpartition(":")
    Handler.app = QA(backend_for(env["DATABASE_URL"]), env.get("QA_APP_STATE_DIR"),
                     env.get("QA_APP_BYPASS_TOKEN"))
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    sys.stderr.write("qa_app: %s backend on %s:%s\n" % (Handler.app.db.name, host, port))
    server.serve_forever()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", required=True, help="KEY=VALUE file with DATABASE_URL")
    args = parser.parse_args(argv)
    serve(read_env_file(args.env_file))


if __name__ == "__main__":
    main()
