from django.db import migrations

STATES = [
    ("new", "new"),
    ("open", "open"),
    ("pending reminder", "pending_reminder"),
    ("pending close", "pending_close"),
    ("closed", "closed"),
    ("merged", "merged"),
]
PRIORITIES = [("1 low", 1, False), ("2 normal", 2, True), ("3 high", 3, False)]


def seed(apps, schema_editor):
    State = apps.get_model("tickets", "State")
    Priority = apps.get_model("tickets", "Priority")
    for name, kind in STATES:
        State.objects.get_or_create(name=name, defaults={"kind": kind})
    closed = State.objects.get(name="closed")
    State.objects.filter(name="pending close").update(next_state=closed)
    for name, level, default in PRIORITIES:
        Priority.objects.get_or_create(name=name, defaults={"level": level, "is_default": default})


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
