"""Ready-made contact plans that follow the articles, and the two templates they need besides the
messaging's ready-made ones (contact_plans/messaging/ready_made.py), in the four languages.

| key | trigger | steps |
|---|---|---|
| welcome-series | first purchase | welcome email; check-in email after 21 days unless they bought again |
| thank-you-check-in | every purchase | check-in email 75 days later (the thank-you itself is the transactional order thank-you, sent at once); a new purchase starts over |
| renewal-reminder | expected repurchase date passed (metrics) | reminder email; a call a week later unless they bought |
| win-back | entered "RFM: At risk" | win-back offer; a call 14 days later unless they bought |
| high-value-care | entered "High value / high risk" | a retention call (a booked meeting jumps to it, "not interested" ends); a meeting |
| vip-event | entered "RFM: Champions" | event invitation; a call to confirm five days later |

``ready_made_plans_install`` creates what does not exist yet (by key), paused unless ``activate``:
in a real installation a marketer switches on the plans they want, while the demo
(``demo.seeded``, reactions) runs them all. A plan that exists is left as it is.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_noop

from segmentation.models import Segment
from segmentation.services import segments_builtin_ensure

from ..messaging.ready_made import ready_made_install
from ..models import ContactPlan, MessageTemplate, MessageTemplateContent
from .services import plan_save
from .validation import StepData

_MANAGER = {
    "en": "{% if account_manager.email %}<p>{{ account_manager.first_name }} is here for you: "
    '<a href="mailto:{{ account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
    "id": "{% if account_manager.email %}<p>{{ account_manager.first_name }} siap membantu Anda: "
    '<a href="mailto:{{ account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
    "ms": "{% if account_manager.email %}<p>{{ account_manager.first_name }} sedia membantu anda: "
    '<a href="mailto:{{ account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
    "ca": "{% if account_manager.email %}<p>{{ account_manager.first_name }} és aquí per ajudar-vos: "
    '<a href="mailto:{{ account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
}

TEMPLATES = [
    {
        "key": "renewal-reminder",
        "name": gettext_noop("Renewal reminder"),
        "channel": "email",
        "purpose": "promotional",
        "topic": "offers",
        "contents": {
            "en": {
                "subject": "Time to restock, {{ customer.first_name }}?",
                "html": "<p>Hi {{ customer.first_name }},</p>\n"
                "<p>{% if order.date %}Your last order was on {{ order.date|date }}. {% endif %}"
                "Customers like you usually order again about now, so we thought a reminder might help.</p>\n"
                "<p>Reorder in a couple of clicks, or reply to this email if anything should change.</p>\n"
                + _MANAGER["en"],
            },
            "id": {
                "subject": "Sudah waktunya belanja lagi, {{ customer.first_name }}?",
                "html": "<p>Halo {{ customer.first_name }},</p>\n"
                "<p>{% if order.date %}Pesanan terakhir Anda pada {{ order.date|date }}. {% endif %}"
                "Pelanggan seperti Anda biasanya memesan lagi sekitar saat ini, jadi kami mengirim pengingat.</p>\n"
                "<p>Pesan ulang hanya dengan beberapa klik, atau balas email ini jika ada yang perlu diubah.</p>\n"
                + _MANAGER["id"],
            },
            "ms": {
                "subject": "Masa untuk menambah stok, {{ customer.first_name }}?",
                "html": "<p>Hai {{ customer.first_name }},</p>\n"
                "<p>{% if order.date %}Pesanan terakhir anda pada {{ order.date|date }}. {% endif %}"
                "Pelanggan seperti anda biasanya membuat pesanan semula sekitar waktu ini, jadi kami hantar "
                "peringatan.</p>\n"
                "<p>Buat pesanan semula dengan beberapa klik, atau balas e-mel ini jika ada yang perlu diubah.</p>\n"
                + _MANAGER["ms"],
            },
            "ca": {
                "subject": "És hora de tornar a demanar, {{ customer.first_name }}?",
                "html": "<p>Hola, {{ customer.first_name }}:</p>\n"
                "<p>{% if order.date %}La vostra última comanda va ser el {{ order.date|date }}. {% endif %}"
                "Els clients com vós solen tornar a demanar per aquestes dates, i us ho recordem per si us "
                "és útil.</p>\n"
                "<p>Torneu a demanar amb un parell de clics, o responeu aquest correu si cal canviar res.</p>\n"
                + _MANAGER["ca"],
            },
        },
    },
    {
        "key": "vip-event-invitation",
        "name": gettext_noop("VIP event invitation"),
        "channel": "email",
        "purpose": "promotional",
        "topic": "news",
        "contents": {
            "en": {
                "subject": "{{ customer.first_name }}, you are invited to our customer evening",
                "html": "<p>Hi {{ customer.first_name }},</p>\n"
                "<p>You are one of the customers we value most, and we would love to thank you in person. "
                "Join us for an evening with our team, a preview of what is coming and a few surprises.</p>\n"
                "<p>Reply to this email to save your place: places are limited.</p>\n" + _MANAGER["en"],
            },
            "id": {
                "subject": "{{ customer.first_name }}, Anda diundang ke malam pelanggan kami",
                "html": "<p>Halo {{ customer.first_name }},</p>\n"
                "<p>Anda adalah salah satu pelanggan yang paling kami hargai, dan kami ingin berterima kasih "
                "secara langsung. Bergabunglah dalam malam bersama tim kami, cuplikan produk mendatang, dan "
                "beberapa kejutan.</p>\n"
                "<p>Balas email ini untuk memesan tempat: tempat terbatas.</p>\n" + _MANAGER["id"],
            },
            "ms": {
                "subject": "{{ customer.first_name }}, anda dijemput ke malam pelanggan kami",
                "html": "<p>Hai {{ customer.first_name }},</p>\n"
                "<p>Anda antara pelanggan yang paling kami hargai, dan kami ingin berterima kasih secara "
                "bersemuka. Sertai malam bersama pasukan kami, tinjauan awal apa yang akan datang dan beberapa "
                "kejutan.</p>\n"
                "<p>Balas e-mel ini untuk menempah tempat: tempat adalah terhad.</p>\n" + _MANAGER["ms"],
            },
            "ca": {
                "subject": "{{ customer.first_name }}, us convidem a la nostra vetllada de clients",
                "html": "<p>Hola, {{ customer.first_name }}:</p>\n"
                "<p>Sou un dels clients que més valorem i us volem donar les gràcies en persona. Veniu a una "
                "vetllada amb el nostre equip, amb una primícia del que arriba i alguna sorpresa.</p>\n"
                "<p>Responeu aquest correu per reservar la vostra plaça: les places són limitades.</p>\n"
                + _MANAGER["ca"],
            },
        },
    },
]


def _t(key: str):
    return MessageTemplate.objects.get(key=key)


def _plans() -> list[dict]:
    """The plans, built when installed (their templates and segments must exist by then)."""
    return [
        {
            "key": "welcome-series",
            "name": gettext_noop("Welcome series after the first purchase"),
            "description": gettext_noop(
                "A welcome to the community after the first purchase, then a check-in three weeks later "
                "unless the customer has bought again."
            ),
            "trigger": "first_purchase",
            "purpose": "promotional",
            "reenrol": "never",
            "steps": [
                StepData(kind="email", template=_t("first-purchase-welcome")),
                StepData(kind="email", template=_t("check-in"), delay_days=21, unless_purchased=True),
            ],
        },
        {
            "key": "thank-you-check-in",
            "name": gettext_noop("Thank-you and check-in after a purchase"),
            "description": gettext_noop(
                "The order thank-you goes out at once (the transactional template “Order thank-you”); this plan "
                "checks in 75 days later, and a new purchase starts it over."
            ),
            "trigger": "every_purchase",
            "purpose": "promotional",
            "goal": "purchase",
            "reenrol": "after_days",
            "reenrol_days": 1,
            "steps": [StepData(kind="email", template=_t("check-in"), delay_days=75)],
        },
        {
            "key": "renewal-reminder",
            "name": gettext_noop("Renewal reminder"),
            "description": gettext_noop(
                "When the date the customer usually buys again has passed (from the metrics), a reminder, then "
                "a call a week later unless they have bought."
            ),
            "trigger": "repurchase_due",
            "purpose": "promotional",
            "goal": "purchase",
            "reenrol": "after_days",
            "reenrol_days": 30,
            "steps": [
                StepData(kind="email", template=_t("renewal-reminder")),
                StepData(
                    kind="task",
                    task_kind="call",
                    delay_days=7,
                    task_due_days=3,
                    unless_purchased=True,
                    task_note=gettext_noop("Renewal is due: ask whether they need to reorder."),
                ),
            ],
        },
        {
            "key": "win-back",
            "name": gettext_noop("Win-back for lapsing customers"),
            "description": gettext_noop(
                "Customers who enter “RFM: At risk” get an offer, then a call two weeks later unless they have bought."
            ),
            "trigger": "segment_entered",
            "trigger_segment": Segment.objects.get(key="rfm.at_risk"),
            "purpose": "promotional",
            "goal": "purchase",
            "reenrol": "after_days",
            "reenrol_days": 180,
            "steps": [
                StepData(kind="email", template=_t("win-back-offer")),
                StepData(
                    kind="task",
                    task_kind="call",
                    delay_days=14,
                    task_due_days=5,
                    unless_purchased=True,
                    task_note=gettext_noop("Win-back: ask why they stopped buying."),
                    branches={"not_interested": "end"},
                ),
            ],
        },
        {
            "key": "high-value-care",
            "name": gettext_noop("High-value account care"),
            "description": gettext_noop(
                "Customers who enter “High value / high risk” get a call from their account manager; a booked "
                "meeting follows, and “not interested” ends the plan."
            ),
            "trigger": "segment_entered",
            "trigger_segment": Segment.objects.get(key="value_risk.high_high"),
            "purpose": "transactional",
            "reenrol": "after_days",
            "reenrol_days": 90,
            "steps": [
                StepData(
                    kind="task",
                    task_kind="call",
                    task_due_days=3,
                    task_note=gettext_noop("A high-value customer at risk: call to understand what changed."),
                    branches={"not_interested": "end", "order_won": "end"},
                ),
                StepData(
                    kind="task",
                    task_kind="meeting",
                    delay_days=7,
                    task_due_days=7,
                    task_note=gettext_noop("Meet to agree what we do for them next."),
                ),
            ],
        },
        {
            "key": "vip-event",
            "name": gettext_noop("VIP event invitation"),
            "description": gettext_noop(
                "Customers who enter “RFM: Champions” are invited to the customer evening; their account "
                "manager calls five days later to confirm."
            ),
            "trigger": "segment_entered",
            "trigger_segment": Segment.objects.get(key="rfm.champions"),
            "purpose": "promotional",
            "reenrol": "after_days",
            "reenrol_days": 365,
            "steps": [
                StepData(kind="email", template=_t("vip-event-invitation")),
                StepData(
                    kind="task",
                    task_kind="call",
                    delay_days=5,
                    task_due_days=3,
                    task_note=gettext_noop("Confirm they are coming to the customer evening."),
                ),
            ],
        },
    ]


READY_MADE_KEYS = (
    "welcome-series",
    "thank-you-check-in",
    "renewal-reminder",
    "win-back",
    "high-value-care",
    "vip-event",
)


def templates_install() -> int:
    """Messaging's ready-made templates and the plans' own, those that do not exist yet (by key)."""
    return ready_made_install(MessageTemplate, MessageTemplateContent) + ready_made_install(
        MessageTemplate, MessageTemplateContent, TEMPLATES
    )


@transaction.atomic
def ready_made_plans_install(*, activate: bool = False) -> list[ContactPlan]:
    """Create the ready-made plans that do not exist yet (by key); ``activate`` switches on every
    ready-made plan (the demo), else new ones are paused. Returns the ready-made plans."""
    templates_install()
    segments_builtin_ensure()
    existing = set(ContactPlan.objects.filter(key__in=READY_MADE_KEYS).values_list("key", flat=True))
    for spec in _plans():
        if spec["key"] in existing:
            continue
        steps = spec.pop("steps")
        spec.setdefault("control_percent", 10)
        spec["is_active"] = activate
        plan_save(data=spec, steps=steps)
    plans = list(ContactPlan.objects.filter(key__in=READY_MADE_KEYS))
    if activate:
        ContactPlan.objects.filter(key__in=READY_MADE_KEYS, is_active=False).update(is_active=True)
    return plans


# The demo's plans look back this far at their first run, so that the seeded orders of the last days
# (recorded by the seed, just before) enrol customers as if the plans had been running.
DEMO_LOOKBACK_DAYS = 1


def ready_made_plans_demo() -> None:
    """Install and switch on the ready-made plans, then run their triggers and first steps (the
    segment plans run again when the segments are refreshed after the demo's metrics recompute)."""
    from datetime import timedelta

    from django.utils import timezone

    from . import runner, triggers

    plans = ready_made_plans_install(activate=True)
    ContactPlan.objects.filter(pk__in=[p.pk for p in plans], enrolments__isnull=True).update(
        triggers_checked_at=timezone.now() - timedelta(days=DEMO_LOOKBACK_DAYS)
    )
    for plan in plans:
        triggers.plan_triggers_run(plan_id=plan.pk)
    runner.plans_steps_dispatch()
