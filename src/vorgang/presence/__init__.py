"""Who is working on a case right now, and the replies agents have started but not sent.

Presence rows are heartbeats: the case view renews its row every few seconds and a
row older than ``TTL`` counts as gone, so a closed tab needs no goodbye. Drafts keep
what an agent typed into the reply or note form until it is sent.
"""
