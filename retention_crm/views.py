from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an API path that matches no route (an id out of range, a typo) answers in the
    API's error shape; every other path gets the HTML page."""
    if request.path_info.startswith("/api/"):
        body = {"status": 404, "code": "not_found", "message": _("Not found.")}
        return JsonResponse({"error": body}, status=404)
    return defaults.page_not_found(request, exception)
