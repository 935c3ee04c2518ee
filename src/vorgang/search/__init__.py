"""Full-text search over cases, inside the database Vorgang already runs.

Two backends behind one interface (PostgreSQL full-text search with the ``german``
configuration, SQLite FTS5), chosen by the database vendor. Callers use
``vorgang.search.engine.search(user, text, ...)``; the index is kept current by
the tickets app's domain events (see subscribers.py) and rebuilt with
``vorgang search reindex``.
"""
