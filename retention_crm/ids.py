"""Ids in paths, query strings and request bodies: whole numbers that a database key can hold.

PostgreSQL's ``bigint`` and SQLite's ``INTEGER`` are signed 64-bit. A bigger number used to reach
the database and fail there (``OverflowError`` on SQLite, a 500), so every id is parsed by one of
these, bounded to that range:

- ``<id:pk>`` in URL patterns (registered in ``RetentionCrmConfig.ready``): a path with a bigger
  number matches nothing, a 404;
- ``IdFilter`` for django-filter FilterSets and ``IdField`` for DRF serializers: a bigger number
  (or ``1e20``, ``1.5``) is a validation error, a 400 in the API's error shape.

Django's ``<int:…>`` and django-filter's ``NumberFilter`` (a decimal) must not be used for ids; a
test walks the URL patterns and the FilterSets to keep it so.
"""

import django_filters
from django import forms
from rest_framework import serializers

MAX_ID = 2**63 - 1
MIN_ID = -(2**63)


class IdConverter:
    # 19 digits cover MAX_ID; to_python refuses the 19-digit numbers above it, and a ValueError
    # there means "this pattern does not match".
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(f"{value} is out of the 64-bit range")
        return number

    def to_url(self, value) -> str:
        return str(value)


class IdFormField(forms.IntegerField):
    def __init__(self, *, min_value=MIN_ID, max_value=MAX_ID, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)


class IdFilter(django_filters.NumberFilter):
    """A filter on an id (or any integer column): a whole number in the 64-bit range."""

    field_class = IdFormField


class IdField(serializers.IntegerField):
    """A DRF integer that an id column can hold."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", MIN_ID)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)
