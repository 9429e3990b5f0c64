"""The models of contact_plans, one module per part; each is imported here so Django finds it.

- ``followups``: follow-ups and worklist snoozes (the account manager's planned contacts).
- ``message_templates``: message templates and their text per language (messaging).
- ``plans``: contact plans, their steps, enrolments and what each step did (docs/contact-plans.md).
- ``outbox``: messages to customers, address statuses, contact preferences (docs/messaging.md).
- ``clicks``: the clicks on tracked links of emails.
- ``campaigns``: campaigns, their runs and recipients (docs/campaigns.md).
- ``reminders``: which overdue follow-ups their assignee was reminded of (followup_reminders.py).
"""

from .campaigns import Campaign, CampaignRecipient, CampaignRun
from .clicks import LinkClick
from .followups import FollowUp, WorklistSnooze
from .message_templates import MessageTemplate, MessageTemplateContent
from .outbox import AddressStatus, Channel, ContactPreference, LocalDelivery, Message, Purpose  # noqa: F401
from .plans import ContactPlan, Enrolment, EnrolmentStep, PlanStep  # noqa: F401
from .reminders import FollowUpReminder  # noqa: F401

__all__ = [
    "Campaign",
    "CampaignRecipient",
    "CampaignRun",
    "LinkClick",
    "FollowUp",
    "WorklistSnooze",
    "MessageTemplate",
    "MessageTemplateContent",
]
