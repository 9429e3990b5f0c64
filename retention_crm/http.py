"""Small facts about a request that every app's views ask."""

from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (it then wants a fragment to swap in, not a whole page)."""
    return request.headers.get("HX-Request") == "true"
