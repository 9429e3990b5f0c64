"""Link clicks: a link in an email goes through the signed redirect ``/r/<token>/``
(contact_plans.messaging.links), which records one row here per click and sends the reader on."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LinkClick(models.Model):
    message = models.ForeignKey(
        "contact_plans.Message", verbose_name=_("message"), on_delete=models.CASCADE, related_name="clicks"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="link_clicks"
    )
    url = models.TextField(_("link"))
    clicked_at = models.DateTimeField(_("clicked at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("link click")
        verbose_name_plural = _("link clicks")
        indexes = [models.Index(fields=["message"], name="linkclick_message")]

    def __str__(self) -> str:
        return f"Click on message {self.message_id}"
