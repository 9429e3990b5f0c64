"""Password guessing: failed logins counted per account and per client address, on every way in.

The login page, the Django admin and the API token endpoint all call ``authenticate()``, so the
guard sits there:

- ``LoginGuardBackend``, first in ``AUTHENTICATION_BACKENDS``, refuses every attempt (without
  checking the password) while the account or the address is locked out, and leaves the request
  a ``Lockout`` that says until when;
- the ``user_login_failed`` signal counts a failure for the account and for the address; at
  ``LOGIN_FAILURES_PER_ACCOUNT`` (or ``LOGIN_FAILURES_PER_ADDRESS``) failures, each within
  ``LOGIN_LOCKOUT_MINUTES`` of the previous one, that account (or address) is locked out for
  ``LOGIN_LOCKOUT_MINUTES``;
- a successful login forgets the account's failures (never the address's: an attacker's own
  account must not wipe the count of their guesses).

Counts live in the default cache, which every process shares (Redis when configured, a database
table otherwise), so gunicorn workers and servers add up rather than count apart. The client
address is ``client_address()``: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT`` proxies in front,
the address that the outermost trusted proxy saw; a client cannot choose it by sending
``X-Forwarded-For``. DRF's throttles read it the same way (``NUM_PROXIES``).
"""

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)

ACCOUNT, ADDRESS = "account", "address"


def client_address(request) -> str:
    """The client's IP address, as far as the trusted proxies (``TRUSTED_PROXY_COUNT``) vouch for it.

    Each trusted proxy appends the address it received the request from to ``X-Forwarded-For``;
    what the client itself wrote there comes before and is ignored.
    """
    meta = getattr(request, "META", {}) or {}
    remote = meta.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


@dataclass(frozen=True)
class Lockout:
    until: float  # a Unix time

    @property
    def seconds_left(self) -> int:
        return max(1, math.ceil(self.until - time.time()))

    def message(self) -> str:
        minutes = math.ceil(self.seconds_left / 60)
        ends_at = timezone.localtime(datetime.fromtimestamp(self.until, tz=UTC))
        return ngettext(
            "Too many failed logins. Logging in is blocked for %(minutes)d more minute, until %(time)s.",
            "Too many failed logins. Logging in is blocked for %(minutes)d more minutes, until %(time)s.",
            minutes,
        ) % {"minutes": minutes, "time": formats.time_format(ends_at, "TIME_FORMAT")}


def _keys(scope: str, value: str) -> tuple[str, str]:
    # Hashed: no username or address sits in Redis or the cache table in clear.
    digest = salted_hmac("retention_crm.login_guard", f"{scope}:{value}").hexdigest()[:32]
    return f"login-failures:{scope}:{digest}", f"login-lockout:{scope}:{digest}"


def _subjects(request, username: str | None) -> list[tuple[str, str, int]]:
    """(scope, value, threshold) of what an attempt counts against."""
    subjects = []
    if username:
        subjects.append((ACCOUNT, username.strip().lower(), settings.LOGIN_FAILURES_PER_ACCOUNT))
    address = client_address(request) if request is not None else ""
    if address:
        subjects.append((ADDRESS, address, settings.LOGIN_FAILURES_PER_ADDRESS))
    return subjects


def login_lockout(request, username: str | None) -> Lockout | None:
    """The lockout an attempt would meet now, if any: the one that ends last."""
    lock_keys = [_keys(scope, value)[1] for scope, value, _limit in _subjects(request, username)]
    ends = [until for until in cache.get_many(lock_keys).values() if until > time.time()]
    return Lockout(until=max(ends)) if ends else None


def _count(key: str, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    # Forgotten `window` seconds after the latest failure (the database cache's incr would
    # otherwise reset the expiry to its default).
    cache.touch(key, window)
    return count


def login_failure_record(request, username: str | None) -> Lockout | None:
    """Count a failed login; lock the account or the address out when it reaches its threshold."""
    window = settings.LOGIN_LOCKOUT_MINUTES * 60
    lockout = None
    for scope, value, limit in _subjects(request, username):
        count_key, lock_key = _keys(scope, value)
        if _count(count_key, window) >= limit:
            lockout = Lockout(until=time.time() + window)
            cache.set(lock_key, lockout.until, timeout=window)
            cache.delete(count_key)
            logger.warning("auth.locked_out scope=%s key=%s minutes=%d", scope, lock_key[-8:], window // 60)
    return lockout


def login_success_record(username: str) -> None:
    cache.delete(_keys(ACCOUNT, username.strip().lower())[0])


class LoginGuardBackend:
    """First of the authentication backends: stops every attempt while a lockout lasts."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        lockout = login_lockout(request, username)
        if lockout is None:
            return None  # the next backend checks the password
        if request is not None:
            request.login_lockout = lockout
        # PermissionDenied stops authenticate() here: no later backend checks the password.
        raise PermissionDenied(lockout.message())

    # No get_user(): this backend never logs anyone in, so no session may name it (the test
    # client's force_login picks the first backend that has one).


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    if request is not None and getattr(request, "login_lockout", None) is not None:
        return  # refused by the lockout, not a guess that was checked
    username = credentials.get("username")
    lockout = login_failure_record(request, username)
    if lockout is not None and request is not None:
        request.login_lockout = lockout


def on_logged_in(sender, request, user, **kwargs) -> None:
    login_success_record(user.get_username())


class LockoutMessageMixin:
    """A login form that says, when it refuses a locked-out attempt, that it did and until when."""

    def get_invalid_login_error(self):
        lockout = getattr(self.request, "login_lockout", None)
        if lockout is not None:
            return forms.ValidationError(lockout.message(), code="locked_out")
        return super().get_invalid_login_error()


class LoginForm(LockoutMessageMixin, AuthenticationForm):
    pass


class AdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    pass


class LockoutStatusMiddleware:
    """A login page that refused a locked-out attempt answers 429 with Retry-After, as the API does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        lockout = getattr(request, "login_lockout", None)
        if lockout is not None and response.status_code == 200:
            response.status_code = 429
            response.reason_phrase = "Too Many Requests"
            response["Retry-After"] = str(lockout.seconds_left)
        return response
