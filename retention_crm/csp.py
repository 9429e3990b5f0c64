"""The Content-Security-Policy header, on every response (Django 5.2 has none of its own).

Scripts come only from our own static files: no inline <script>, no on* attributes, no eval, so
an HTML injection that slips past escaping cannot run code. Styles allow inline ``style``
attributes (progress bars, heat-map cells, Chart.js and htmx set them); a style cannot run code.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response
