from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


@login_required
def home(request):
    """Each role's first screen. Later apps (worklist, dashboards) take over from here."""
    return redirect("customers:list")
