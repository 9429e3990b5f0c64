"""Campaigns: one-off or recurring sends of a message template to a segment (docs/campaigns.md).

``services`` (build, schedule, cancel, start a run, write a chunk of its messages), ``selectors``
(who may do what, the audience preview, the results), ``bulk`` (rendering and writing a chunk's
messages set-based), ``tasks`` (the beat's starter and the chunk tasks), ``views``, ``api``.
"""
