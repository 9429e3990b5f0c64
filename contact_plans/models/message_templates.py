"""Message templates: what a message to a customer says, per language, before it is personalised.

A template has a key (what code and the API call it by: ``order-thank-you``), a channel (email or
SMS), a purpose (transactional or promotional: the outbox applies consent and the frequency cap to
promotional ones only), a preference-centre topic and a fallback language. Its text lives in one
``MessageTemplateContent`` per language: a subject, an HTML body and an optional plain-text part for
email; a text body only for SMS. The content is Jinja2 source, checked when saved
(contact_plans.messaging.rendering) and rendered in a sandbox.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


class MessageTemplate(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Purpose(models.TextChoices):
        TRANSACTIONAL = "transactional", _("Transactional")
        PROMOTIONAL = "promotional", _("Promotional")

    key = models.SlugField(
        _("key"), max_length=64, unique=True, help_text=_("How code and the API name it, e.g. order-thank-you.")
    )
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.PROMOTIONAL)
    topic = models.SlugField(
        _("topic"),
        max_length=64,
        blank=True,
        help_text=_("The preference-centre topic customers can opt out of; empty for general messages."),
    )
    fallback_language = models.CharField(
        _("fallback language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("Used for customers whose language the template is not written in."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive template sends nothing (the order thank-you included).")
    )
    track_links = models.BooleanField(
        _("track link clicks"),
        default=True,
        help_text=_(
            "Links in its emails go through a redirect that records the click (also switched off "
            "everywhere by the MESSAGING_TRACK_LINKS setting)."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=["email", "sms"]), name="msgtemplate_channel_valid"),
            models.CheckConstraint(
                condition=Q(purpose__in=["transactional", "promotional"]), name="msgtemplate_purpose_valid"
            ),
            models.CheckConstraint(
                condition=Q(fallback_language__in=LANGUAGE_CODES), name="msgtemplate_fallback_valid"
            ),
            models.CheckConstraint(condition=~Q(key=""), name="msgtemplate_key_not_empty"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the reader's language when it is a ready-made template's, unrenamed."""
        from contact_plans.messaging.ready_made import ready_made_name

        return ready_made_name(self.key, self.name)

    @property
    def is_email(self) -> bool:
        return self.channel == self.Channel.EMAIL


class MessageTemplateContent(models.Model):
    """One language of a template. Email: subject and HTML required, text optional (generated from
    the HTML when empty). SMS: the text only. The channel lives on the template, so which fields a
    channel takes is checked by the service (template_services); the database keeps a language
    from being empty."""

    template = models.ForeignKey(
        MessageTemplate, verbose_name=_("template"), on_delete=models.CASCADE, related_name="contents"
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    html = models.TextField(_("HTML body"), blank=True)
    text = models.TextField(
        _("plain-text body"), blank=True, help_text=_("Email: generated from the HTML when left empty.")
    )

    class Meta:
        ordering = ["template", "language"]
        verbose_name = _("message template language")
        verbose_name_plural = _("message template languages")
        constraints = [
            models.UniqueConstraint(fields=["template", "language"], name="msgtemplate_one_content_per_language"),
            models.CheckConstraint(condition=Q(language__in=LANGUAGE_CODES), name="msgtemplate_content_language_valid"),
            # Something to send in every language a template has: an email's HTML or an SMS's text.
            models.CheckConstraint(condition=~Q(html="") | ~Q(text=""), name="msgtemplate_content_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id}/{self.language}"
