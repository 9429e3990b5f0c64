"""The customers app's REST API, mounted under /api/v1/ by ``customers.api_urls``.

One module per resource; what they share (error flattening, strict input, the permission
checks built on ``customers.selectors``) lives in ``common``.
"""
