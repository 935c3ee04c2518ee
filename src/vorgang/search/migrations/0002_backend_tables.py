"""The database-specific half of the index (see search/models.py).

PostgreSQL: pg_trgm (a trusted extension since PostgreSQL 13: the database owner may
create it), the tsvector columns and their GIN index, a trigram index on name_key.
SQLite: the FTS5 table holding the stems, and its vocabulary view for typo tolerance.
"""

from django.db import migrations

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE search_searchdocument ADD COLUMN vector tsvector NOT NULL DEFAULT ''::tsvector",
    "ALTER TABLE search_searchdocument ADD COLUMN public_vector tsvector NULL",
    "CREATE INDEX search_doc_vector ON search_searchdocument USING gin (vector)",
    "CREATE INDEX search_doc_name_trgm ON search_searchdocument USING gin (name_key gin_trgm_ops)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS search_doc_name_trgm",
    "DROP INDEX IF EXISTS search_doc_vector",
    "ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS public_vector",
    "ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS vector",
]
SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "number, title, citizen, body, attach, ibody, iattach, namekey, "
    "tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE search_fts_vocab USING fts5vocab(search_fts, 'col')",
]
SQLITE_REVERSE = [
    "DROP TABLE IF EXISTS search_fts_vocab",
    "DROP TABLE IF EXISTS search_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
        )
    ]
