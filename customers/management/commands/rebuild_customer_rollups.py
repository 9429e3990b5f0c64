"""`manage.py rebuild_customer_rollups`: rebuild the per-customer rollups of orders (day totals, upsell day) from the orders."""

import time

from django.core.management.base import BaseCommand

from customers.rollups import customer_rollups_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild every customer's day totals and upsell day from the orders. Needed after changing TIME_ZONE; "
        "safe to run at any time (one transaction: readers see the old rows until it commits)."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        rows = customer_rollups_rebuild()
        self.stdout.write(
            self.style.SUCCESS(f"{rows} customer days rebuilt from the orders in {time.monotonic() - started:.1f} s.")
        )
