"""Looking inside a store from a test, whichever backend it is."""
import os
import sqlite3

__all__ = ["is_postgres", "sql", "stored_blobs"]


def is_postgres(store):
    return type(store).__name__ == "PostgresStore"


def sql(store, query, args=()):
    """Rows of ``query`` run on the store's database (``?`` placeholders for both)."""
    if is_postgres(store):
        import psycopg

        with psycopg.connect(store.url) as conn:
            cur = conn.execute(query.replace("?", "%s"), args)
            return cur.fetchall() if cur.description else []
    with sqlite3.connect(store.path) as conn:
        return conn.execute(query, args).fetchall()


def stored_blobs(store):
    """The shas of the image blobs the store keeps (files, or rows of ``blobs``)."""
    if is_postgres(store):
        return sorted(r[0] for r in sql(store, "SELECT sha FROM blobs"))
    return sorted(os.path.basename(d) + f[:-4] for d, _, fs in os.walk(store.image_dir)
                  for f in fs if f.endswith(".png"))
