"""Cards that other apps add to the customer page, without the customers app importing them.

An app registers its card once at startup (from its AppConfig.ready()):

    from customers import panels
    panels.register("metrics", "metrics/_customer_panel.html", metrics_panel_context, order=10)

``context_fn(request, customer)`` returns the card's context (available in its template as
``panel``), or None to leave the card out for this request. The customer page has already
checked that the user may see the customer; a card showing more than the customer's own data
checks its own permissions. The page renders the cards in ``order``, then by name.
"""

from collections.abc import Callable
from typing import NamedTuple

from django.http import HttpRequest

from .models import Customer

ContextFn = Callable[[HttpRequest, Customer], dict | None]


class Panel(NamedTuple):
    name: str
    template_name: str
    context_fn: ContextFn
    order: int


class RenderedPanel(NamedTuple):
    template: str
    context: dict


_panels: dict[str, Panel] = {}


def register(name: str, template_name: str, context_fn: ContextFn, order: int = 100) -> None:
    """Add a card; registering a name again replaces it, so a second ready() call changes nothing."""
    _panels[name] = Panel(name, template_name, context_fn, order)


def unregister(name: str) -> None:
    _panels.pop(name, None)


def panels_for(request: HttpRequest, customer: Customer) -> list[RenderedPanel]:
    """(template name, context) of each card to show on this customer's page, in order."""
    rendered = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.name)):
        context = panel.context_fn(request, customer)
        if context is not None:
            rendered.append(RenderedPanel(panel.template_name, context))
    return rendered
