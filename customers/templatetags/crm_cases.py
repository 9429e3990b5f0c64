"""How a case's change reads: codes as their labels, owners by username, times in the reader's format."""

from django import template

from retention_crm.formats import format_datetime

from ..models import Interaction, InteractionChange

register = template.Library()

_LABELS = {
    InteractionChange.Field.STATUS: dict(Interaction.Status.choices),
    InteractionChange.Field.PRIORITY: dict(Interaction.Priority.choices),
}


def _shown(field: str, value: str) -> str:
    if not value:
        return "—"
    if field in _LABELS:
        return str(_LABELS[field].get(value, value))
    if field == InteractionChange.Field.DUE_AT:
        return format_datetime(value)
    return value


@register.filter
def change_old(change: InteractionChange) -> str:
    return _shown(change.field, change.old_value)


@register.filter
def change_new(change: InteractionChange) -> str:
    return _shown(change.field, change.new_value)


@register.filter
def hours(seconds) -> float | None:
    return None if seconds is None else float(seconds) / 3600
