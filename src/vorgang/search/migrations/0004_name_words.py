"""PostgreSQL: the words of citizens' names, for typo tolerance by trigrams.

A misspelt name is looked up in this small table (a pg_trgm GIN index over distinct
words) and the close names found are matched as ordinary full-text words, so the
search never compares trigrams row by row over the cases. SQLite keeps using its FTS5
vocabulary. The table is filled from the documents already indexed.
"""

from django.db import migrations

FORWARD = [
    "CREATE TABLE search_nameword (word text PRIMARY KEY)",
    "CREATE INDEX search_nameword_trgm ON search_nameword USING gin (word gin_trgm_ops)",
    "INSERT INTO search_nameword (word) "
    "SELECT DISTINCT w FROM search_searchdocument, "
    "regexp_split_to_table(name_key, ' ') AS w "
    "WHERE length(w) >= 4 AND w !~ '^[0-9]+$' ON CONFLICT DO NOTHING",
]
REVERSE = ["DROP TABLE IF EXISTS search_nameword"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0003_date_order_indexes")]

    operations = [migrations.RunPython(_run(FORWARD), _run(REVERSE))]
