"""The API's rate limits, counted in the shared cache so that every process adds up.

DRF's own throttles keep a list of every request's time per client (up to 6,000 floats for
the user rate, rewritten on each request): cheap in one process's memory, not in Redis or a
database table. These count requests per fixed window instead, one integer per client and
window. A client may get up to twice its rate across a window boundary, which is fine for a
limit meant to stop floods and guessing. The client address is ``client_address()``, as for the
login lockout.
"""

import time

from rest_framework import throttling

from .login_guard import client_address


class _CountingThrottle:
    def get_ident(self, request) -> str:
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window_start = int(now // self.duration) * self.duration
        self.wait_seconds = window_start + self.duration - now
        key = f"{key}:{window_start}"
        self.cache.add(key, 0, timeout=self.duration + 1)
        try:
            count = self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.set(key, 1, timeout=self.duration + 1)
            count = 1
        return count <= self.num_requests

    def wait(self) -> float:
        return self.wait_seconds


class AnonRateThrottle(_CountingThrottle, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_CountingThrottle, throttling.UserRateThrottle):
    pass
