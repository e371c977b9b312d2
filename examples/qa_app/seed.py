#!/usr/bin/env python3
"""Create the Q&A application's schema in a MySQL/MariaDB database and fill it with demo data.

    seed.py --defaults-file .lab/my.cnf --database qa_demo [--contents 200] [--dimensions 1536]

The schema is the one the guide's application had (TypeORM naming: camelCase columns), with the
shapes a rollback has to deal with:
  content            AUTO_INCREMENT id, updated_at ON UPDATE CURRENT_TIMESTAMP, tinyint(1) flag
  content_embedding  AUTO_INCREMENT id, FK to content, embeddings as JSON objects {"0": x, ...}
                     in a LONGTEXT column (how the guide's MySQL kept them)
  qa_history         AUTO_INCREMENT bigint id, JSON sources (written by POST /qa/ask)
  app_setting        natural varchar key, no updated_at: changes after a switch are unverifiable
Data is deterministic (seeded), so two runs give the same checksums. Credentials come from the
option file only (never from the command line).
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qa_app import embed  # noqa: E402 - the app's own embedding function: questions find chunks

SCHEMA = """
CREATE TABLE content (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title VARCHAR(255) NOT NULL,
  body LONGTEXT,
  published TINYINT(1) NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE content_embedding (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `contentId` INT UNSIGNED NOT NULL,
  `chunkIndex` INT NOT NULL,
  `chunkText` LONGTEXT NOT NULL,
  embedding LONGTEXT,
  KEY idx_content (`contentId`),
  CONSTRAINT fk_embedding_content FOREIGN KEY (`contentId`) REFERENCES content (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE qa_history (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  question TEXT NOT NULL,
  answer LONGTEXT,
  sources JSON,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE app_setting (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  value TEXT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"""

TOPICS = ["migration", "postgresql", "mysql", "vector", "index", "backup", "replication",
          "sequence", "embedding", "rollback", "maintenance", "cutover", "schema", "query"]
WORDS = ["fast", "safe", "table", "row", "column", "copy", "dump", "load", "verify", "checksum",
         "search", "cosine", "distance", "chunk", "answer", "question", "server", "client", "disk"]


def sentence(rng, topic):
    return " ".join([topic] + rng.choices(WORDS, k=12)).capitalize() + "."


def generate(rng, contents, chunks, dimensions):
    """Yield (content row, [embedding rows]) deterministically."""
    for cid in range(1, contents + 1):
        topic = TOPICS[cid % len(TOPICS)]
        paragraphs = [sentence(rng, topic) for _ in range(chunks)]
        title = "%s guide %d" % (topic.capitalize(), cid)
        stamp = "2024-%02d-%02d 10:%02d:00" % (1 + cid % 12, 1 + cid % 28, cid % 60)
        content = (cid, title, "\n\n".join(paragraphs), cid % 7 != 0, stamp, stamp)
        embeddings = [(cid, i, text, json.dumps({str(k): v for k, v in
                                                  enumerate(embed(title + " " + text, dimensions))}))
                      for i, text in enumerate(paragraphs)]
        yield content, embeddings


def seed(conn, contents, chunks, dimensions, history):
    rng = random.Random(20240607)
    with conn.cursor() as cur:
        for statement in filter(str.strip, SCHEMA.split(";")):
            cur.execute(statement)
        for content, embeddings in generate(rng, contents, chunks, dimensions):
            cur.execute("INSERT INTO content (id, title, body, published, created_at, updated_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s)", content)
            cur.executemany("INSERT INTO content_embedding (`contentId`, `chunkIndex`, `chunkText`, "
                            "embedding) VALUES (%s, %s, %s, %s)", embeddings)
        for i in range(1, history + 1):
            cur.execute("INSERT INTO qa_history (question, answer, sources, created_at) VALUES "
                        "(%s, %s, %s, %s)", ("How do I %s?" % TOPICS[i % len(TOPICS)],
                                             "See the guide.", json.dumps([{"content_id": i}]),
                                             "2024-06-%02d 12:00:00" % (1 + i % 28)))
        cur.executemany("INSERT INTO app_setting (name, value) VALUES (%s, %s)",
                        [("answer_style", "short"), ("max_sources", "3")])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defaults-file", required=True, help="MySQL option file with [client]")
    parser.add_argument("--database", required=True)
    parser.add_argument("--contents", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=3, help="embeddings per content row")
    parser.add_argument("--dimensions", type=int, default=1536)
    parser.add_argument("--history", type=int, default=20)
    parser.add_argument("--replace", action="store_true", help="drop the database first")
    args = parser.parse_args(argv)

    import pymysql

    conn = pymysql.connect(read_default_file=args.defaults_file, charset="utf8mb4", autocommit=True)
    with conn.cursor() as cur:
        if args.replace:
            cur.execute("DROP DATABASE IF EXISTS `%s`" % args.database)
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                    (args.database,))
        if cur.fetchone()[0]:
            print("database %s already has tables: left as it is (use --replace)" % args.database)
            return 0
        cur.execute("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4" % args.database)
        cur.execute("USE `%s`" % args.database)
    conn.begin()
    seed(conn, args.contents, args.chunks, args.dimensions, args.history)
    conn.commit()
    print(json.dumps({"database": args.database, "content": args.contents,
                      "content_embedding": args.contents * args.chunks, "qa_history": args.history,
                      "dimensions": args.dimensions}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
