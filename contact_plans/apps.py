from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactPlansConfig(AppConfig):
    name = "contact_plans"
    verbose_name = _("Contact plans")

    def ready(self):
        # The "Follow-ups" card of the customer page (customers.panels; customers never imports us).
        from . import panels  # noqa: F401
