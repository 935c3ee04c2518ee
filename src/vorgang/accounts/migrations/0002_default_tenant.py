from django.db import migrations


def create_default_tenant(apps, schema_editor):
    Tenant = apps.get_model("accounts", "Tenant")
    if not Tenant.objects.exists():
        Tenant.objects.create(name="Stadtverwaltung", slug="default")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_default_tenant, migrations.RunPython.noop)]
