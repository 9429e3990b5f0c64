"""The site's front door: each role's first screen (mounted at "/" by customers.site_urls)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from . import roles


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard for marketers and administrators; their worklist ("My book") for account
    managers; one-to-ones for anyone else (the team pages say when a login has none). URL names only: customers imports no other app."""
    if roles.is_administrator(request.user) or roles.is_marketer(request.user):
        return redirect("metrics:dashboard")
    if roles.is_account_manager(request.user):
        return redirect("worklist:home")
    # Someone with no role in the CRM (an employee who runs or attends one-to-ones): their one-to-ones.
    return redirect("team:one_to_ones")
