"""Routes of the loyalty pages (namespace "loyalty"), mounted at /loyalty/ by retention_crm.urls."""

from django.urls import path

from . import programme_views, views

app_name = "loyalty"

urlpatterns = [
    path("customer/<id:customer_pk>/enrol/", views.member_enrol_view, name="enrol"),
    path("customer/<id:customer_pk>/adjust/", views.points_adjust_view, name="adjust"),
    path("s/<str:token>/", views.standing_view, name="standing"),
    path("s/<str:token>/redeem/", views.standing_redeem_view, name="standing_redeem"),
    path("r/<str:code>/", views.referral_link_view, name="referral_link"),
    path("results/", programme_views.results_view, name="results"),
    path("contests/", programme_views.contest_list, name="contests"),
    path("contests/new/", programme_views.contest_edit, name="contest_create"),
    path("contests/<id:pk>/", programme_views.contest_detail, name="contest"),
    path("contests/<id:pk>/edit/", programme_views.contest_edit, name="contest_edit"),
    path("settings/", programme_views.settings_view, name="settings"),
    path("rules/", programme_views.rule_list, name="rules"),
    path("rules/new/", programme_views.rule_edit, name="rule_create"),
    path("rules/<id:pk>/", programme_views.rule_edit, name="rule_edit"),
    path("tiers/", programme_views.tier_list, name="tiers"),
    path("tiers/new/", programme_views.tier_edit, name="tier_create"),
    path("tiers/<id:pk>/", programme_views.tier_edit, name="tier_edit"),
    path("rewards/", programme_views.reward_list, name="rewards"),
    path("rewards/new/", programme_views.reward_edit, name="reward_create"),
    path("rewards/<id:pk>/", programme_views.reward_edit, name="reward_edit"),
]
