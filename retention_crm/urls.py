from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import health, views
from .login_guard import LoginForm


def favicon(request: HttpRequest) -> HttpResponse:
    # Resolved per request: the hashed name of the static file is only known once it is collected.
    return redirect(static_url("favicon.svg"), permanent=True)


api_v1 = [
    path("", include("customers.api_urls")),
    path("metrics/", include("metrics.api_urls")),
    path("", include("metrics.recommendations_api_urls")),
    path("segments/", include("segmentation.api_urls")),
    path("", include("contact_plans.api_urls")),
    path("loyalty/", include("loyalty.api_urls")),
    path("surveys/", include("surveys.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file of its own (?script=): no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = views.page_not_found

urlpatterns = [
    path("", include("customers.site_urls")),
    path("healthz", health.healthz, name="healthz"),
    # The public survey answer page is the busiest URL after a send: matched early (resolving it
    # after every app's patterns cost more than a millisecond an answer).
    path("a/", include("surveys.public_urls")),
    # Browsers ask for /favicon.ico whatever the pages say; send them to the real icon.
    path("favicon.ico", favicon, name="favicon"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("customers/", include("customers.urls")),
    path("complaints/", include("customers.complaint_urls")),
    path("metrics/", include("metrics.urls")),
    path("segments/", include("segmentation.urls")),
    path("", include("contact_plans.urls")),
    path("plans/", include("contact_plans.plans.urls")),
    path("messages/", include("contact_plans.messaging.template_urls")),
    path("campaigns/", include("contact_plans.campaigns.urls")),
    path("", include("contact_plans.messaging.outbox_urls")),
    path("anymail/", include("anymail.urls")),
    path("loyalty/", include("loyalty.urls")),
    path("team/", include("team.urls")),
    path("surveys/", include("surveys.urls")),
    path("api/v1/", include(api_v1)),
]
