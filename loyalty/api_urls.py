"""API routes of the loyalty programme, mounted at /api/v1/loyalty/ by retention_crm.urls."""

from django.urls import path

from . import api

urlpatterns = [
    path("members/", api.MemberEnrolApi.as_view(), name="api-loyalty-enrol"),
    path("members/<id:customer_id>/", api.MemberStandingApi.as_view(), name="api-loyalty-member"),
    path("members/<id:customer_id>/referral/", api.MemberReferralApi.as_view(), name="api-loyalty-referral"),
    path("referrals/", api.ReferralRecordApi.as_view(), name="api-loyalty-referrals"),
    path("contests/", api.ContestListApi.as_view(), name="api-loyalty-contests"),
    path("ledger/", api.LedgerListApi.as_view(), name="api-loyalty-ledger"),
    path("orders/<id:order_id>/earn/", api.OrderEarnApi.as_view(), name="api-loyalty-earn"),
    path("orders/<id:order_id>/reverse/", api.OrderReverseApi.as_view(), name="api-loyalty-reverse"),
    path("results/", api.ResultsApi.as_view(), name="api-loyalty-results"),
    path("rewards/", api.RewardListApi.as_view(), name="api-loyalty-rewards"),
    path("redemptions/", api.RedeemApi.as_view(), name="api-loyalty-redeem"),
    path("codes/<str:code>/", api.CodeCheckApi.as_view(), name="api-loyalty-code"),
    path("codes/<str:code>/use/", api.CodeUseApi.as_view(), name="api-loyalty-code-use"),
]
