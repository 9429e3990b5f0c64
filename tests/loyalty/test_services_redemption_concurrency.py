"""Concurrent redemptions on PostgreSQL, from threads with their own connections (as gunicorn
workers would be): however they interleave, the balance and the stock never go below zero, every
refusal is one of the expected ones, and the ledger adds up. CI runs this (it needs PostgreSQL)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from loyalty import redemption as redeeming
from loyalty import selectors, services
from loyalty.models import Member, Redemption, Reward

from .factories import MemberFactory, RewardFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 24


def _race(calls) -> tuple[list, list[str]]:
    """Run every call at once (a barrier releases them together); (results, refusals)."""
    barrier = threading.Barrier(len(calls))
    results, refusals, lock = [], [], threading.Lock()

    def run(call):
        try:
            barrier.wait()
            result = call()
            with lock:
                results.append(result)
        except ValidationError as exc:
            with lock:
                refusals.append(" ".join(exc.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, refusals


def test_concurrent_redemptions_of_the_last_items_never_take_the_stock_below_zero(ada):
    members = [MemberFactory() for _ in range(THREADS)]
    for member in members:
        services.points_adjust(customer=member.customer, points=100, reason="Welcome", user=ada)
    reward = RewardFactory(points_cost=60, stock=5)

    done, refused = _race([lambda m=m: redeeming.reward_redeem(customer_id=m.pk, reward_id=reward.pk) for m in members])

    assert len(done) == 5 and Reward.objects.get(pk=reward.pk).stock == 0
    assert set(refused) == {"This reward is out of stock."} and len(refused) == THREADS - 5
    assert selectors.balance_drift() == []


def test_concurrent_redemptions_by_one_member_never_take_the_balance_below_zero(ada):
    member = MemberFactory()
    services.points_adjust(customer=member.customer, points=250, reason="Welcome", user=ada)
    reward = RewardFactory(points_cost=60)

    done, refused = _race([lambda: redeeming.reward_redeem(customer_id=member.pk, reward_id=reward.pk)] * THREADS)

    assert len(done) == 4 and Member.objects.get(pk=member.pk).points == 10
    assert set(refused) == {"This reward costs 60 points and the balance is 10."}
    assert selectors.balance_drift() == []


def test_a_code_used_at_two_tills_at_once_is_used_once(ada):
    member = MemberFactory()
    services.points_adjust(customer=member.customer, points=100, reason="Welcome", user=ada)
    code = redeeming.reward_redeem(customer_id=member.pk, reward_id=RewardFactory(points_cost=10).pk).code

    done, refused = _race([lambda: redeeming.redemption_use(code=code, redemptions=Redemption.objects.all())] * 8)

    assert len(done) == 1 and set(refused) == {"This code was already used."}
