"""The models of contact_plans, one module per part; each is imported here so Django finds it.

- ``followups``: follow-ups and worklist snoozes (the account manager's planned contacts).
"""

from .followups import FollowUp, WorklistSnooze

__all__ = ["FollowUp", "WorklistSnooze"]
