"""Django's SQLite backend, waiting for the write lock by asking often (see ``base``)."""
