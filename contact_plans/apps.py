from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactPlansConfig(AppConfig):
    name = "contact_plans"
    verbose_name = _("Contact plans")

    def ready(self) -> None:
        # The "Follow-ups" card of the customer page (customers.panels; customers never imports us).
        from . import panels  # noqa: F401

        # The reasons on an account manager's worklist (retention_crm.worklist_signals); other apps
        # add theirs from their own ready().
        from .worklist import worklist_signals_register

        worklist_signals_register()
