from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from customers import roles


@login_required
def home(request):
    """Each role's first screen: the dashboard for marketers and administrators; their worklist
    ("My book") for account managers; the customer list for anyone else."""
    if roles.is_administrator(request.user) or roles.is_marketer(request.user):
        return redirect("metrics:dashboard")
    if roles.is_account_manager(request.user):
        return redirect("worklist:home")
    return redirect("customers:list")
