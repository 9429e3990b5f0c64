from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        # Complaints resolved and follow-ups done start surveys (customers and contact_plans never
        # import us); the registries we extend: the worklist's reason, the segment conditions.
        from . import panels, reactions, segment_conditions, worklist

        reactions.connect()
        worklist.register()
        segment_conditions.register_all()
        # The "Surveys" card of the customer page (customers.panels).
        panels.register()
