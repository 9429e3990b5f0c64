from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import defaults

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


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an API path that matches no route (an id out of range, a typo) answers in the
    API's error shape; every other path gets the HTML page."""
    if request.path_info.startswith("/api/"):
        body = {"status": 404, "code": "not_found", "message": _("Not found.")}
        return JsonResponse({"error": body}, status=404)
    return defaults.page_not_found(request, exception)
