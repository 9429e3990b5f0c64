"""How the team app reacts to other apps' events (connected in TeamConfig.ready)."""

from __future__ import annotations

from retention_crm import events


def on_demo_seeded() -> None:
    from .demo import team_demo_seed

    team_demo_seed()


def connect() -> None:
    # The demo's staff and one-to-ones: a few dozen rows, set up in the seeding process.
    events.subscribe(events.DEMO_SEEDED)(on_demo_seeded)
