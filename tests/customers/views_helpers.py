"""What the browser page tests of the customers app share."""

from django.urls import reverse

# The header htmx sends with its requests: the views answer with a fragment instead of a page.
HTMX = {"HX-Request": "true"}


def detail_url(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])
