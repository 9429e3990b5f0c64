import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")
application = get_wsgi_application()


def _warm_and_freeze() -> None:
    """Each web worker loads the URLs and their views now, then moves every object made so far out of
    the cycle collector's reach (``gc.freeze``): the collections of the oldest generation, which a
    busy worker sets off as its heap grows, then walk only what requests made, not Django and the
    apps. Each such walk paused every thread of the worker; the survey answers' p99 under load went
    from 53-374 ms to 49-180 ms (under 100 ms in five rounds of six against three), with /healthz no
    slower (docs/benchmarks.md, "Survey answers"). Objects of start-up that become garbage are still
    freed by reference counting."""
    from django.urls import get_resolver

    _patterns = get_resolver().reverse_dict  # imports every URL module and view, and fills the reverse map
    gc.collect()
    gc.freeze()


_warm_and_freeze()
