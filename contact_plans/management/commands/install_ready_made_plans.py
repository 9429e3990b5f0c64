"""`manage.py install_ready_made_plans [--activate]`: the ready-made contact plans and their templates
(contact_plans/plans/ready_made.py), paused unless --activate; a second run changes nothing."""

from django.core.management.base import BaseCommand

from contact_plans.plans.ready_made import ready_made_plans_install


class Command(BaseCommand):
    help = "Create the ready-made contact plans (welcome series, check-in, renewal, win-back, account care, VIP event)."

    def add_arguments(self, parser):
        parser.add_argument("--activate", action="store_true", help="Switch the plans on (default: paused).")

    def handle(self, *args, activate: bool, **options):
        plans = ready_made_plans_install(activate=activate)
        state = "running" if activate else "as they were (new ones paused)"
        self.stdout.write(self.style.SUCCESS(f"{len(plans)} ready-made plans, {state}."))
