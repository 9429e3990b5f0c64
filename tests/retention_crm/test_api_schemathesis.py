"""The API against its own OpenAPI schema, fuzzed by schemathesis as each role.

Every operation of the schema, called in-process through the WSGI application with the tokens of an
administrator, an account manager and a marketer, over a small workspace (two books with customers,
orders and interactions): each generated request is sent as each of the three, and every response
goes through schemathesis's checks (no 500, the body and headers as the schema says, status codes
and content types documented, ...). Examples are bounded (EXAMPLES per operation) so that the
whole file takes about a minute; CI runs it with the rest of the suite.
"""

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token

from customers import roles
from retention_crm.wsgi import application
from tests.customers.factories import CustomerFactory, InteractionFactory, OrderFactory, ProductFactory, order_add_line

pytestmark = pytest.mark.django_db

# Generated requests per operation, each sent as the three roles: 3 x 60 x EXAMPLES requests in all.
EXAMPLES = 3
ROLES = (roles.ADMINISTRATOR, roles.ACCOUNT_MANAGER, roles.MARKETER)

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application
# Requests that follow the schema (the positive mode), as a client would send them. The negative
# mode (requests that break the schema on purpose) is not run: the API ignores some malformed
# query parameters (page_size=null) instead of refusing them, a later issue.
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE], with_security_parameters=False)
# Every check but positive_data_acceptance, which expects any request the schema allows to succeed:
# an OpenAPI schema cannot state that a referenced customer exists and is in the caller's book, that
# a name is unique, that a follow-up is due from today on, or that start and end come together, so
# those 400s (each in the API's error shape, which the schema documents) are the API doing its job.
EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture(autouse=True)
def _connection_kept_across_requests():
    """As Django's test client does: the end of a request must not close the test's connection
    (and its transaction) as it closes a server's connection left over."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def tokens(django_user_model) -> dict[str, str]:
    """A token per role, and a workspace around them: two customers with an order and an
    interaction in the account manager's book and in a colleague's."""
    users = {}
    for role in (*ROLES, "colleague"):
        user = django_user_model.objects.create_user(username=f"fuzz-{role}".replace(" ", "-"), password=None)
        user.groups.add(Group.objects.get_or_create(name=roles.ACCOUNT_MANAGER if role == "colleague" else role)[0])
        users[role] = user
    product = ProductFactory(sku="SKU-1")
    for manager in (users[roles.ACCOUNT_MANAGER], users["colleague"]):
        for _ in range(2):
            customer = CustomerFactory(account_manager=manager)
            order_add_line(OrderFactory(customer=customer, ordered_at=timezone.now()), product=product)
            InteractionFactory(customer=customer)
    return {role: Token.objects.create(user=users[role]).key for role in ROLES}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_keeps_to_its_schema(case, tokens):
    for token in tokens.values():
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=EXCLUDED_CHECKS)
