"""Drop the single-column indexes of foreign keys whose column leads another index.

Every new case maintains every index of tickets_ticket and every history entry every
index of tickets_history; these four duplicate the first column of an index that stays:

- tickets_ticket.tenant_id   -> (tenant_id, department_id, state_id)
- tickets_ticket.owner_id    -> (owner_id, state_id)
- tickets_ticket.citizen_id  -> (citizen_id), the same index twice
- tickets_history.ticket_id  -> history_unique_seq (ticket_id, seq)

Only the indexes go: ``AlterField`` would drop and re-add the foreign-key constraints
on PostgreSQL (a scan of the table each) and copy both tables on SQLite.

On PostgreSQL Django also gave every unique or indexed text column a second index with
``varchar_pattern_ops``, for ``LIKE 'abc%'``. Nothing searches these columns by prefix
(a reply token and a Message-ID are looked up whole, a case number by ``iexact`` or in
the search index), so those of the columns every new case writes go too.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (index, table, column) as Django named them when it created the foreign keys.
INDEXES = [
    ("tickets_history_ticket_id_760ac788", "tickets_history", "ticket_id"),
    ("tickets_ticket_citizen_id_c87f024f", "tickets_ticket", "citizen_id"),
    ("tickets_ticket_owner_id_40236788", "tickets_ticket", "owner_id"),
    ("tickets_ticket_tenant_id_3a7f5a8a", "tickets_ticket", "tenant_id"),
]
# PostgreSQL's prefix (LIKE) indexes: (index, table, column).
LIKE_INDEXES = [
    ("tickets_ticket_number_5f958fbb_like", "tickets_ticket", "number"),
    ("tickets_ticket_reply_token_7e469862_like", "tickets_ticket", "reply_token"),
    ("tickets_article_message_id_0b2f1162_like", "tickets_article", "message_id"),
]


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _table, _column in LIKE_INDEXES:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, table, column in LIKE_INDEXES:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}" varchar_pattern_ops)'
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_email_upper_index"),
        ("tickets", "0006_ticket_attributes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="history",
                    name="ticket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="history",
                        to="tickets.ticket",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="citizen",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="citizen",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="owned_tickets",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="tenant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="accounts.tenant",
                    ),
                ),
            ],
        ),
        migrations.RunPython(drop_like_indexes, create_like_indexes),
    ]
