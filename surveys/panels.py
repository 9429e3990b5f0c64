"""The "Surveys" card of the customer page, registered with customers.panels from
SurveysConfig.ready(): the customer's latest answers and, for whoever may edit the customer, a
form to ask them one of the active customer surveys by hand. The page has already checked that
the user may see the customer."""

from customers import panels
from customers.selectors import customer_editable_by

from .models import Audience, Response, Survey

TEMPLATE = "surveys/_customer_panel.html"
SHOWN = 5


def surveys_panel_context(request, customer) -> dict:
    can_ask = customer_editable_by(request.user).filter(pk=customer.pk).exists()
    answers = list(
        Response.objects.filter(customer=customer)
        .select_related("survey")
        .order_by("-answered_on", "-answered_at")[:SHOWN]
    )
    surveys = (
        list(Survey.objects.filter(status=Survey.Status.ACTIVE, audience=Audience.CUSTOMERS).order_by("name"))
        if can_ask
        else []
    )
    return {"customer": customer, "answers": answers, "surveys": surveys, "can_ask": can_ask}


def register() -> None:
    panels.register("surveys", TEMPLATE, surveys_panel_context, order=40)
