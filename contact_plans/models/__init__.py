"""The models of contact_plans, one module per part; each is imported here so Django finds it.

- ``followups``: follow-ups and worklist snoozes (the account manager's planned contacts).
- ``message_templates``: message templates and their text per language (messaging).
"""

from .followups import FollowUp, WorklistSnooze
from .message_templates import MessageTemplate, MessageTemplateContent

__all__ = ["FollowUp", "WorklistSnooze", "MessageTemplate", "MessageTemplateContent"]
