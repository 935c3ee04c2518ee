from django.db import migrations

from vorgang.tickets.defaults import ensure


def seed(apps, schema_editor):
    ensure(apps.get_model("tickets", "State"), apps.get_model("tickets", "Priority"))


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
