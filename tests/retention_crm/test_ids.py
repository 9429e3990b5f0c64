"""Numbers beyond the 64-bit range in paths and filters: a 404 or a 400 in the API's error shape."""

import django_filters
import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter

from retention_crm.ids import MAX_ID, IdFilter
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

TOO_BIG = "99999999999999999999"
JUST_TOO_BIG = str(MAX_ID + 1)

API_URLS = [
    "/api/v1/metrics/customers/?manager=1e20",
    f"/api/v1/metrics/customers/?manager={TOO_BIG}",
    "/api/v1/orders/?customer_id=1e20",
    f"/api/v1/orders/?customer_id={TOO_BIG}",
    "/api/v1/interactions/?customer=1e20",
    f"/api/v1/interactions/?customer={JUST_TOO_BIG}",
    f"/api/v1/followups/?customer_id={TOO_BIG}",
    f"/api/v1/metrics/customers/{TOO_BIG}/",
    f"/api/v1/metrics/customers/{JUST_TOO_BIG}/",
    f"/api/v1/metrics/recompute/{TOO_BIG}/",
    f"/api/v1/customers/{TOO_BIG}/",
    f"/api/v1/orders/{TOO_BIG}/",
    f"/api/v1/interactions/{TOO_BIG}/",
    f"/api/v1/followups/{TOO_BIG}/",
    f"/api/v1/segments/{TOO_BIG}/",
    f"/api/v1/worklist/?manager={TOO_BIG}",
]

BROWSER_URLS = [
    f"/customers/{TOO_BIG}/",
    f"/customers/{JUST_TOO_BIG}/edit/",
    f"/customers/1/interactions/{TOO_BIG}/resolve/",
    f"/segments/{TOO_BIG}/",
    f"/my-book/{TOO_BIG}/log/",
    f"/follow-ups/customer/{TOO_BIG}/",
]


@pytest.mark.parametrize("url", API_URLS)
def test_an_id_beyond_64_bits_in_the_api_is_a_400_or_404_in_the_error_shape(url, ada):
    response = api_client_for(ada).get(url)

    assert response.status_code in (400, 404)
    assert response.json()["error"]["status"] == response.status_code


def test_an_id_filter_beyond_64_bits_names_the_field(ada):
    response = api_client_for(ada).get(f"/api/v1/orders/?customer_id={TOO_BIG}")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["customer_id"]


def test_an_id_filter_in_range_still_filters(ada, alice):
    from tests.customers.factories import CustomerFactory, OrderFactory

    order = OrderFactory(customer=CustomerFactory(account_manager=alice))

    response = api_client_for(ada).get(f"/api/v1/orders/?customer_id={order.customer_id}")

    assert [row["id"] for row in response.json()["results"]] == [order.pk]


@pytest.mark.parametrize("url", BROWSER_URLS)
def test_an_id_beyond_64_bits_in_a_browser_url_is_a_404(url, client, ada):
    client.force_login(ada)

    response = client.get(url)

    assert response.status_code == 404


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def test_no_url_pattern_uses_the_unbounded_int_converter():
    offenders = sorted(
        route
        for route, entry in _patterns(get_resolver())
        if any(isinstance(conv, IntConverter) for conv in getattr(entry.pattern, "converters", {}).values())
    )

    assert offenders == []


def _filtersets(cls=django_filters.FilterSet):
    for sub in cls.__subclasses__():
        yield sub
        yield from _filtersets(sub)


def test_every_number_filter_of_the_project_is_bounded():
    assert list(_patterns(get_resolver()))  # imports every API module, and with them their FilterSets
    apps = ("customers", "segmentation", "contact_plans", "loyalty", "surveys", "metrics", "retention_crm")
    offenders = sorted(
        f"{filterset.__module__}.{filterset.__name__}.{name}"
        for filterset in _filtersets()
        if filterset.__module__.split(".")[0] in apps
        for name, declared in filterset.base_filters.items()
        if isinstance(declared, django_filters.NumberFilter) and not isinstance(declared, IdFilter)
    )

    assert offenders == []
