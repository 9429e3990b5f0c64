"""Messaging: templates and their rendering (templates), the outbox, channels and unsubscribe (outbox).
See docs/messaging.md."""
