"""Every write to message templates. A template and all its languages are checked first and
written in one transaction, so a template is saved whole or not at all.

``contents`` maps a language code to ``{"subject", "html", "text"}``; a language left out (or
all blank) is a language the template does not have. Errors are a ValidationError keyed like the
API's fields: ``contents.ca.html``, ``fallback_language``, ``key``.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..models import MessageTemplate, MessageTemplateContent
from .rendering import source_errors

LANGUAGE_NAMES = dict(settings.LANGUAGES)
PARTS = ("subject", "html", "text")
FIELDS = ("key", "name", "channel", "purpose", "topic", "fallback_language", "is_active", "track_links")
# An SMS longer than this is several messages for a phone; the outbox splits or refuses by its own
# rule, so this is only a guard against a pasted email.
SMS_SOURCE_LIMIT = 1_600


def _part_label(part: str) -> str:
    return {"subject": _("subject"), "html": _("HTML body"), "text": _("plain-text body")}[part]


def contents_clean(*, channel: str, contents: dict, fallback_language: str) -> tuple[dict, dict]:
    """The contents with blank languages dropped and text stripped, and the errors found (by field)."""
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for language, parts in contents.items():
        if language not in LANGUAGE_NAMES:
            errors[f"contents.{language}"] = [
                _("“%(language)s” is not a language of the product.") % {"language": language}
            ]
            continue
        parts = {part: (parts.get(part) or "").strip() for part in PARTS}
        if any(parts.values()):
            cleaned[language] = parts
    for language, parts in cleaned.items():
        name = LANGUAGE_NAMES[language]

        def add(part, message, language=language):
            errors.setdefault(f"contents.{language}.{part}", []).append(message)

        if channel == MessageTemplate.Channel.EMAIL:
            if not parts["subject"]:
                add("subject", _("%(language)s: the subject is missing.") % {"language": name})
            if not parts["html"]:
                add("html", _("%(language)s: the HTML body is missing.") % {"language": name})
        else:
            for part in ("subject", "html"):
                if parts[part]:
                    add(
                        part,
                        _("%(language)s: an SMS has a text only, no %(part)s.")
                        % {"language": name, "part": _part_label(part)},
                    )
            if not parts["text"]:
                add("text", _("%(language)s: the text is missing.") % {"language": name})
            elif len(parts["text"]) > SMS_SOURCE_LIMIT:
                add(
                    "text",
                    _("%(language)s: an SMS text is at most %(limit)s characters.")
                    % {"language": name, "limit": SMS_SOURCE_LIMIT},
                )
        if len(parts["subject"]) > 200:
            add("subject", _("%(language)s: the subject is at most 200 characters.") % {"language": name})
        for part in PARTS:
            for error in source_errors(parts[part], html=part == "html"):
                add(
                    part,
                    _("%(language)s, %(part)s: %(error)s")
                    % {"language": name, "part": _part_label(part), "error": error},
                )
    if fallback_language not in cleaned:
        errors.setdefault("fallback_language", []).append(
            _("Write the template in its fallback language (%(language)s), or choose another one.")
            % {"language": LANGUAGE_NAMES.get(fallback_language, fallback_language)}
        )
    return cleaned, errors


def _check(template: MessageTemplate, contents: dict) -> dict:
    errors: dict[str, list[str]] = {}
    try:
        template.full_clean(exclude=["created_by", "updated_by"], validate_unique=True, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    cleaned, content_errors = contents_clean(
        channel=template.channel, contents=contents, fallback_language=template.fallback_language
    )
    for field, messages in content_errors.items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _write_contents(template: MessageTemplate, contents: dict) -> None:
    template.contents.exclude(language__in=list(contents)).delete()
    for language, parts in contents.items():
        MessageTemplateContent.objects.update_or_create(template=template, language=language, defaults=parts)


def _save(template: MessageTemplate, contents: dict) -> MessageTemplate:
    cleaned = _check(template, contents)
    try:
        with transaction.atomic():
            template.save()
            _write_contents(template, cleaned)
    except IntegrityError:
        # Two saves of the same new key at once: the database's unique index decides.
        raise ValidationError({"key": [_("Another template already has this key.")]}) from None
    return template


def message_template_create(*, contents: dict, created_by=None, **fields) -> MessageTemplate:
    """A new template with its languages (ValidationError naming each problem; nothing saved then)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown template fields: {sorted(unknown)}")
    template = MessageTemplate(**fields, created_by=created_by, updated_by=created_by)
    return _save(template, contents)


def message_template_update(
    *, template: MessageTemplate, contents: dict | None = None, updated_by=None, **fields
) -> tuple[MessageTemplate, bool]:
    """Change a template; ``contents`` (when given) replaces its languages. Returns the template and
    whether anything changed (a save that changes nothing writes nothing)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown template fields: {sorted(unknown)}")
    current = {c.language: {part: getattr(c, part) for part in PARTS} for c in template.contents.all()}
    if contents is None:
        contents = current
    changed_fields = [name for name, value in fields.items() if getattr(template, name) != value]
    for name in changed_fields:
        setattr(template, name, fields[name])
    cleaned = _check(template, contents)
    if not changed_fields and cleaned == current:
        return template, False
    template.updated_by = updated_by
    return _save(template, cleaned), True


def message_template_test_send(*, template: MessageTemplate, customer, language: str, to_email: str) -> None:
    """Render ``template`` for ``customer`` in ``language`` and send it to a staff member's own
    address through the outbox's email channel (no message row: it is not a message to the customer)."""
    from .outbox import test_send
    from .rendering import render_message

    rendered = render_message(template, customer, language=language)
    subject = _("[Test] %(subject)s") % {"subject": rendered.subject}
    test_send(to_email=to_email, subject=subject, html=rendered.html, text=rendered.text)
