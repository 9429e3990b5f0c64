"""Messages to customers: the outbox, its channels, consent and fatigue rules, unsubscribe, and
(on the templates side) message templates and their rendering. docs/messaging.md describes it."""
