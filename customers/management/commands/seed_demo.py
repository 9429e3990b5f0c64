"""`manage.py seed_demo`: the demo users and data `make run` starts with; a second run changes nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customers.demo import DEMO_PASSWORD, DEMO_USERS, demo_seed


class Command(BaseCommand):
    help = "Create the roles, demo users and two years of made-up customers, orders and interactions, once."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=3000, help="How many customers (default 3000).")
        parser.add_argument("--seed", type=int, default=42, help="Seed of the random generator (default 42).")
        parser.add_argument("--years", type=int, default=2, help="Years of order history, ending today (default 2).")

    def handle(self, *args, customers: int, seed: int, years: int, **options):
        if getattr(settings, "PRODUCTION", False):
            # The demo users have a published password; they must never reach a real deployment.
            raise CommandError("seed_demo refuses to run with DJANGO_ENV=production.")
        if customers < 1 or years < 1:
            raise CommandError("--customers and --years must be at least 1.")
        result = demo_seed(customers=customers, seed=seed, years=years)
        if not result.created:
            self.stdout.write(result.message + " Nothing changed.")
        else:
            counts = ", ".join(f"{count} {name}" for name, count in result.counts.items())
            self.stdout.write(
                self.style.SUCCESS(f"Demo data created in {result.seconds:.1f} s (seed {seed}): {counts}.")
            )
        if result.created or result.counts:
            self._logins()

    def _logins(self) -> None:
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        for user in DEMO_USERS:
            name = f"{user.first_name} {user.last_name}"
            role = user.role + (", superuser" if user.superuser else "")
            self.stdout.write(f"  {user.username:<8} {name:<16} {role}")
