"""Signed, timestamped tokens for the links of many messages: byte for byte what
``django.core.signing.dumps`` makes (so ``signing.loads`` verifies them, with the same salt, expiry
and key rotation), without its per-token set-up.

``signing.dumps`` builds a ``TimestampSigner`` per call and derives the HMAC key from the salt and
``SECRET_KEY`` (one SHA-256 of them) before the HMAC itself; a bulk send signs one or two tokens per
message, so the derived key is kept per (secret, salt) and each token costs one HMAC.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import time
import zlib
from base64 import urlsafe_b64encode

from django.conf import settings
from django.core.signing import b62_encode
from django.utils.encoding import force_bytes

# signing.JSONSerializer's dumps (ASCII, no spaces), built once.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


@functools.lru_cache(maxsize=16)
def _derived_key(secret: str | bytes, salt: str) -> bytes:
    # django.utils.crypto.salted_hmac(salt + "signer", value, secret, algorithm="sha256")'s key.
    return hashlib.sha256(force_bytes(salt + "signer") + force_bytes(secret)).digest()


@functools.lru_cache(maxsize=4)
def _stamp(seconds: int) -> str:
    return b62_encode(seconds)  # a loop in Python: once per second, not per token


def _b64(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def dumps(obj, *, salt: str, compress: bool = False) -> str:
    """``django.core.signing.dumps(obj, salt=salt, compress=compress)``, the same string."""
    data = _COMPACT.encode(obj).encode("latin-1")
    prefix = ""
    if compress:
        compressed = zlib.compress(data)
        if len(compressed) < len(data) - 1:
            data, prefix = compressed, "."
    value = f"{prefix}{_b64(data)}:{_stamp(int(time.time()))}"
    key = _derived_key(settings.SECRET_KEY, salt)
    return f"{value}:{_b64(hmac.digest(key, value.encode(), 'sha256'))}"
