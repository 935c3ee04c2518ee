import secrets

from django.db import migrations, models

import vorgang.tickets.models


def fill_tokens(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    for ticket in Ticket.objects.filter(reply_token__isnull=True).only("pk").iterator():
        Ticket.objects.filter(pk=ticket.pk).update(reply_token=secrets.token_hex(10))


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_states_and_priorities")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="reply_token",
            field=models.CharField(editable=False, max_length=40, null=True),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ticket",
            name="reply_token",
            field=models.CharField(
                default=vorgang.tickets.models.new_reply_token,
                editable=False,
                max_length=40,
                unique=True,
            ),
        ),
    ]
