"""The "Contact plans" card of the customer page (customers.panels): the customer's enrolments, what
each step did (the message and its state, the task and its outcome), and, for who may, enrolling
them by hand or ending an enrolment. Registered from ContactPlansConfig.ready()."""

from customers import panels

from . import selectors

TEMPLATE = "contact_plans/plans/_customer_panel.html"


def plans_panel_context(request, customer, *, error: str = "", notice: str = "") -> dict:
    may_enrol = selectors.customer_may_enrol(user=request.user, customer=customer)
    enrolments = selectors.enrolments_of_customer(customer=customer)
    for enrolment in enrolments:
        enrolment.may_end = enrolment.is_open and selectors.enrolment_may_change(user=request.user, enrolment=enrolment)
    return {
        "customer": customer,
        "enrolments": enrolments,
        "may_enrol": may_enrol,
        "plans": list(selectors.plans_open_for_enrolment()) if may_enrol else [],
        "error": error,
        "notice": notice,
    }


def register() -> None:
    panels.register("contact_plans", TEMPLATE, plans_panel_context, order=25)
