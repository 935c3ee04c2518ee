"""Management commands of the core app (the `vorgang` command)."""
