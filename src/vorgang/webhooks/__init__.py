"""Webhooks: announce changes to cases to other systems of the administration.

Admins register endpoints (``Webhook``); each matching domain event becomes a
``WebhookDelivery`` row and a background task that POSTs the signed JSON (see
docs/webhooks.md). Requests that change cases never wait for a receiver.
"""
