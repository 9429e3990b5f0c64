"""Contact plans and campaigns on SQLite, `make run`'s default, whatever database runs the suite (CI:
PostgreSQL): a fresh SQLite file is migrated and seeded with the demo in a process of its own, as
`make run` does, with the worker's tasks run eagerly. Then:

- the demo's plans have sent messages into the local outbox and put tasks on their customers'
  account managers' worklists, the newsletter campaign's recipients were sent it (10 % held out),
  and the pages showing them answer;
- the next newsletter starts, each recipient due at 10:00 in their own time zone, and cancelling it
  withdraws what is queued;
- two processes enrolling the same customers in a plan at the same moment (the web server and the
  worker share the file) make one enrolment each, with the control group drawn at the plan's share.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULT = "RESULT "


def _environment(var_dir: Path) -> dict:
    return {
        "PATH": os.environ.get("PATH", ""),
        "VAR_DIR": str(var_dir),  # SQLite in VAR_DIR: no DATABASE_URL, as in a new clone
        "STATIC_ROOT": str(var_dir / "static"),
        "DJANGO_SETTINGS_MODULE": "retention_crm.settings",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        # No quiet hours: the local outbox gets the plans' messages whatever the hour of the run.
        "MESSAGING_QUIET_START": "0",
        "MESSAGING_QUIET_END": "0",
    }


def _script(code: str) -> list[str]:
    setup = "import json, django; django.setup()\nfrom django.core.management import call_command\n"
    return [sys.executable, "-c", setup + code]


def _result(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(lines[-1][len(RESULT) :])


def _run(var_dir: Path, code: str, timeout: int = 600, **env) -> dict:
    done = subprocess.run(
        _script(code), cwd=ROOT, env={**_environment(var_dir), **env}, capture_output=True, text=True, timeout=timeout
    )
    return _result(done)


@pytest.fixture(scope="module")
def seeded(sqlite_migrated_from_nothing, tmp_path_factory) -> Path:
    """A SQLite database migrated from nothing (a copy of the session's) and seeded with 300 demo
    customers, once per module."""
    migrated, done = sqlite_migrated_from_nothing
    assert done.returncode == 0, done.stderr[-3000:]
    var_dir = tmp_path_factory.mktemp("sqlite-demo") / "var"
    shutil.copytree(migrated, var_dir)
    code = (
        "import io\n"
        "call_command('seed_demo', customers=300, stdout=io.StringIO())\n"
        "from django.db import connection\n"
        f"print({RESULT!r} + json.dumps({{'vendor': connection.vendor}}))\n"
    )
    assert _run(var_dir, code)["vendor"] == "sqlite"
    return var_dir


@pytest.fixture
def demo(seeded, tmp_path) -> Path:
    """A copy of the seeded demo's folder for one test, which writes to it: the tests stay apart,
    in any order. No process has the database open, so its file and write-ahead log copy whole."""
    var_dir = tmp_path / "var"
    shutil.copytree(seeded, var_dir)
    return var_dir


_DEMO_CHECK = """
from django.contrib.auth import get_user_model
from django.test import Client

from contact_plans.messaging.dispatch import messages_dispatch
from contact_plans.models import Campaign, CampaignRecipient, ContactPlan, FollowUp, LocalDelivery, Message

messages_dispatch()  # the beat's minute: the queued messages go to the local outbox
plan_messages = Message.objects.filter(source_key__startswith="plan:")
sent = plan_messages.filter(state="sent")
tasks = FollowUp.objects.filter(plan__isnull=False, state="open").select_related("customer", "assigned_to")
task = tasks.order_by("pk").first()
newsletter = Campaign.objects.get(runs__isnull=False)
recipients = CampaignRecipient.objects.filter(run__campaign=newsletter)
users = {user.username: user for user in get_user_model().objects.all()}


def page(username, url):
    client = Client()
    client.force_login(users[username])
    response = client.get(url)
    return response.status_code, response.content.decode()


outbox_status, outbox = page("admin", "/messaging/outbox/")
customer_status, customer_page = page(task.assigned_to.username, task.customer.get_absolute_url())
plan = ContactPlan.objects.filter(enrolments__isnull=False).order_by("pk").first()
print(RESULT + json.dumps({
    "plan_messages": plan_messages.count(),
    "plan_messages_sent": sent.count(),
    "plan_messages_delivered": LocalDelivery.objects.filter(message_id__in=sent.values("message_id")).count(),
    "tasks": tasks.count(),
    "tasks_of_the_customers_manager": sum(t.assigned_to_id == t.customer.account_manager_id for t in tasks),
    "recipients": recipients.count(),
    "in_control": recipients.filter(in_control=True).count(),
    "sent_outside_control": recipients.filter(in_control=False, message__state="sent").count(),
    "sent_in_control": recipients.filter(in_control=True, message__isnull=False).count(),
    "clicked": newsletter.runs.get().recipients.filter(message__clicks__isnull=False).distinct().count(),
    "outbox_page": [outbox_status, LocalDelivery.objects.order_by("-id").first().recipient in outbox],
    "task_on_customer_page": [customer_status, f'id="enrolment-{task.enrolment_id}"' in customer_page,
                              f"task for {task.assigned_to.first_name}" in customer_page],
    "campaign_results_page": page("marta", f"/campaigns/{newsletter.pk}/results/")[0],
    "plan_page": page("marta", f"/plans/{plan.pk}/")[0],
}))
"""


def test_the_demos_plans_and_campaigns_reach_the_outbox_and_the_worklists_on_sqlite(demo):
    figures = _run(demo, f"RESULT = {RESULT!r}\n" + _DEMO_CHECK)

    assert figures["plan_messages"] > 0
    assert figures["plan_messages_sent"] == figures["plan_messages_delivered"] > 0
    assert figures["tasks"] > 0 and figures["tasks_of_the_customers_manager"] == figures["tasks"]
    # An exact share, rounded half up as SQL's round() does: 10 % of 185 is 19.
    assert figures["recipients"] > 0 and figures["in_control"] == (figures["recipients"] * 10 + 50) // 100
    assert figures["sent_outside_control"] > 0 and figures["sent_in_control"] == 0
    assert figures["clicked"] > 0
    assert figures["outbox_page"] == [200, True]
    assert figures["task_on_customer_page"] == [200, True, True]
    assert figures["campaign_results_page"] == figures["plan_page"] == 200


_NEXT_RUN = """
from zoneinfo import ZoneInfo
from datetime import timedelta

from django.test import TestCase

from contact_plans.campaigns import services
from contact_plans.models import Campaign, CampaignRecipient, Message

campaign = Campaign.objects.get(state="scheduled")
at = services.run_starts_at(campaign.next_send_on, campaign.send_time) + timedelta(minutes=1)
with TestCase.captureOnCommitCallbacks(execute=True):
    run = services.campaign_run_start(campaign_id=campaign.pk, now=at)
recipients = CampaignRecipient.objects.filter(run=run).select_related("customer")
local = {(r.due_at.astimezone(ZoneInfo(r.customer.time_zone)).date() == run.send_on,
          r.due_at.astimezone(ZoneInfo(r.customer.time_zone)).time() == run.send_time) for r in recipients}
queued = Message.objects.filter(pk__in=recipients.values("message_id"), state="queued").count()
withdrawn = services.campaign_cancel(campaign=campaign)
print(RESULT + json.dumps({
    "zones": recipients.values("customer__time_zone").distinct().count(),
    "local_ten": sorted(local),
    "queued": queued,
    "withdrawn": withdrawn,
    "left_queued": Message.objects.filter(pk__in=recipients.values("message_id"), state="queued").count(),
    "marked_withdrawn": recipients.filter(withdrawn=True).count(),
}))
"""


def test_the_next_newsletter_is_due_at_ten_in_each_zone_and_cancelling_withdraws_it_on_sqlite(demo):
    figures = _run(demo, f"RESULT = {RESULT!r}\n" + _NEXT_RUN)

    assert figures["zones"] > 3
    assert figures["local_ten"] == [[True, True]]
    assert figures["queued"] > 0 and figures["withdrawn"] == figures["queued"]
    assert figures["left_queued"] == 0 and figures["marked_withdrawn"] >= figures["withdrawn"]


_RACE_PLAN = """
from contact_plans.plans.services import plan_save
from contact_plans.plans.validation import StepData

steps = [StepData(kind="wait", delay_days=1), StepData(kind="task", task_kind="call", delay_days=30)]
plan = plan_save(data={"name": "Race", "trigger": "manual", "purpose": "transactional", "control_percent": 50},
                 steps=steps)
print(RESULT + json.dumps({"plan": plan.pk}))
"""

_RACE = """
import os, sys
from django.utils import timezone
from customers.models import Customer
from contact_plans.models import ContactPlan
from contact_plans.plans import triggers

plan = ContactPlan.objects.get(pk=int(os.environ["PLAN"]))
customers = Customer.objects.filter(archived_at__isnull=True)
print("READY", flush=True)
sys.stdin.readline()  # the go, given to both processes once both are ready
enrolled, control = triggers.enrol_insert(plan, customers, source="trigger", now=timezone.now())
print(RESULT + json.dumps({"enrolled": enrolled, "control": control, "eligible": customers.count()}))
"""

_RACE_RESULT = """
import os
from django.db.models import Count
from contact_plans.models import Enrolment

rows = Enrolment.objects.filter(plan_id=int(os.environ["PLAN"]))
print(RESULT + json.dumps({
    "rows": rows.count(),
    "customers": rows.values("customer_id").distinct().count(),
    "states": sorted([state, control, n] for state, control, n in
                     rows.values_list("state", "is_control").annotate(n=Count("pk")).values_list("state", "is_control", "n")),
}))
"""


def test_two_processes_enrolling_at_once_make_one_enrolment_each_with_the_control_share_on_sqlite(demo):
    plan = _run(demo, f"RESULT = {RESULT!r}\n" + _RACE_PLAN)["plan"]
    env = {**_environment(demo), "PLAN": str(plan)}
    racers = [
        subprocess.Popen(
            _script(f"RESULT = {RESULT!r}\n" + _RACE),
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for racer in racers:  # each has set Django up and read its plan
        ready = racer.stdout.readline()
        assert ready == "READY\n", ready + racer.stderr.read()[-4000:]
    for racer in racers:
        racer.stdin.write("go\n")
        racer.stdin.flush()
    results = []
    for racer in racers:
        stdout, stderr = racer.communicate(timeout=120)
        results.append(_result(subprocess.CompletedProcess(racer.args, racer.returncode, stdout, stderr)))
    after = _run(demo, f"RESULT = {RESULT!r}\n" + _RACE_RESULT, timeout=120, PLAN=str(plan))

    eligible = results[0]["eligible"]
    assert sorted(r["enrolled"] for r in results) == [0, eligible]
    assert after["rows"] == after["customers"] == eligible
    control = sum(r["control"] for r in results)
    # 300 draws at 50 %: 150 expected, standard deviation 8.7; five of them either side.
    assert 106 < control < 194
    assert after["states"] == [["active", False, eligible - control], ["control", True, control]]
