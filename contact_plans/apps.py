from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactPlansConfig(AppConfig):
    name = "contact_plans"
    verbose_name = _("Contact plans")

    def ready(self) -> None:
        from . import panels, reactions
        from .messaging.placeholders import message_placeholders_register
        from .worklist import worklist_signals_register

        # The "Follow-ups" card of the customer page (customers.panels; customers never imports us).
        panels.register()
        # The reasons on an account manager's worklist (retention_crm.worklist_signals); other apps
        # add theirs from their own ready().
        worklist_signals_register()
        # Contact plans' tasks on the worklist, and the "Contact plans" card of the customer page.
        from .plans import panels as plan_panels
        from .plans import worklist_signal

        worklist_signal.register()
        plan_panels.register()
        # The placeholders of message templates (retention_crm.message_placeholders), and the order
        # thank-you on order.placed (reactions.py).
        message_placeholders_register()
        reactions.connect()
        # Messaging: the "Messages" card, and the email provider's tracking webhooks (anymail).
        from .messaging import outbox_views, webhooks

        outbox_views.panel_register()
        webhooks.connect()
