"""The hosted form of an online service at ``/s/<slug>/``.

Rendered from the service's JSON Schema and UI hints (``rendering``), checked and
stored through ``vorgang.catalogue.submissions.submit`` (the agreed write path for
submissions), guarded by a honeypot, a signed form token and a rate limit
(``guards``); the confirmation e-mail goes out as a case article (``mail``).
"""
