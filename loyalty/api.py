"""API of the loyalty programme for shops and point-of-sale systems (mounted at /api/v1/loyalty/).

The CRM's rules: a customer, order or code the user may not see answers 404; writes (enrol, earn,
reverse, redeem, use a code) need a customer the user may edit (administrators, the account
manager of the book; a POS works with an administrator's token). Earning is idempotent twice over:
an order earns once whatever is sent (a unique index), and an ``Idempotency-Key`` replays the first
answer.
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from customers import roles
from customers.api.common import HasAnyRole
from customers.models import Order
from customers.selectors import (
    customer_editable_by,
    customer_visible_to,
    customers_visible_filter,
    order_visible_to,
)
from retention_crm.api import CursorPagination, IdempotentCreateMixin, InputSerializer
from retention_crm.dates import EARLIEST
from retention_crm.ids import IdField

from . import redemption as redeeming
from . import referrals, selectors, services
from .models import Contest, LedgerEntry, Member, Redemption, Reward
from .results import programme_results

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=_("Send a unique key to make a retry safe: the first answer is returned, nothing is done twice."),
)
NOT_EDITABLE = _("You can see this customer but not change their points.")


def _visible_member(user, customer_id: int) -> Member:
    return get_object_or_404(
        Member.objects.select_related("tier"), customer__in=customer_visible_to(user), pk=customer_id
    )


def _editable(user, customer_id: int) -> None:
    if not customer_editable_by(user).filter(pk=customer_id).exists():
        raise PermissionDenied(NOT_EDITABLE)


class _Post(APIView):
    """A POST whose work is ``perform``, reached through ``create`` so that IdempotentCreateMixin,
    earlier in a subclass's bases, wraps it."""

    permission_classes = [HasAnyRole]

    def post(self, request, *args, **kwargs):
        return self.create(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        return self.perform(request, *args, **kwargs)


# --- Members: standing and ledger -----------------------------------------------------------------


class TierSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    earn_multiplier = serializers.DecimalField(max_digits=6, decimal_places=3)
    benefits = serializers.CharField()


class StandingSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(source="member.pk")
    enrolled_at = serializers.DateTimeField(source="member.enrolled_at")
    points = serializers.IntegerField(help_text=_("The spendable balance: the sum of the ledger."))
    tier = TierSerializer(allow_null=True)
    tier_grace_until = serializers.DateField(source="grace_until", allow_null=True)
    qualifying = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text=_("Points earned or spend in the tier window.")
    )
    next_tier = TierSerializer(allow_null=True)
    to_next_tier = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    expiring = serializers.IntegerField(help_text=_("Points that expire within the reminder period."))


class MemberEnrolSerializer(InputSerializer):
    customer_id = IdField()


class MemberStandingApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(summary=_("A member's balance, tier and progress"), responses=StandingSerializer)
    def get(self, request, customer_id: int):
        member = _visible_member(request.user, customer_id)
        return Response(StandingSerializer(selectors.member_standing(member=member)).data)


@extend_schema_view(
    post=extend_schema(
        summary=_("Enrol a customer in the programme"),
        request=MemberEnrolSerializer,
        responses={201: StandingSerializer, 200: StandingSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
)
class MemberEnrolApi(IdempotentCreateMixin, _Post):
    def perform(self, request):
        data = MemberEnrolSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = get_object_or_404(customer_visible_to(request.user), pk=data.validated_data["customer_id"])
        _editable(request.user, customer.pk)
        member, created = services.member_enrol(customer=customer)
        body = StandingSerializer(selectors.member_standing(member=member)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class LedgerEntrySerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField(allow_null=True)
    redemption_id = serializers.IntegerField(allow_null=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "source", "points", "reason", "order_id", "redemption_id", "created_by"]
        fields += ["expires_at", "occurred_at"]
        read_only_fields = fields


class LedgerQuerySerializer(InputSerializer):
    customer_id = IdField(required=False, help_text=_("One member's entries (a customer id)."))
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False)


class LedgerListApi(generics.ListAPIView):
    """Ledger entries of the members the user may see, newest first; ``?customer_id=`` for one."""

    permission_classes = [HasAnyRole]
    serializer_class = LedgerEntrySerializer
    pagination_class = CursorPagination
    filter_backends = []  # newest first only: the one order the index (member, id) serves

    def get_queryset(self):
        entries = LedgerEntry.objects.filter(customers_visible_filter(self.request.user, field="member_id"))
        if getattr(self, "swagger_fake_view", False):
            return entries
        query = LedgerQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        if "customer_id" in query.validated_data:
            entries = entries.filter(member_id=query.validated_data["customer_id"])
        return entries.select_related("created_by")

    @extend_schema(summary=_("Ledger entries"), parameters=[LedgerQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- Orders: earn and reverse ------------------------------------------------------------------


class OrderPointsSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    earned = serializers.IntegerField(help_text=_("What the order earned (0: it earns nothing)."))
    reversed = serializers.IntegerField(help_text=_("What was taken back after refunds (0 or less)."))
    balance = serializers.IntegerField()


def _order_points(order: Order) -> dict:
    entries = LedgerEntry.objects.filter(order=order)
    earned = sum(e.points for e in entries if e.kind == LedgerEntry.Kind.EARN)
    member = Member.objects.filter(pk=order.customer_id).first()
    return {
        "order_id": order.pk,
        "customer_id": order.customer_id,
        "earned": earned,
        "reversed": sum(e.points for e in entries if e.kind == LedgerEntry.Kind.REVERSE),
        "balance": member.points if member else 0,
    }


class _OrderPointsApi(IdempotentCreateMixin, _Post):
    def _order(self, request, order_id: int) -> Order:
        order = get_object_or_404(order_visible_to(request.user), pk=order_id)
        _editable(request.user, order.customer_id)
        if not Member.objects.filter(pk=order.customer_id).exists():
            raise DjangoValidationError(_("This customer is not a member of the loyalty programme."))
        return order


@extend_schema_view(
    post=extend_schema(
        summary=_("Award an order's points (once, however often it is sent)"),
        request=None,
        responses=OrderPointsSerializer,
        parameters=[IDEMPOTENCY_KEY],
    )
)
class OrderEarnApi(_OrderPointsApi):
    def perform(self, request, order_id: int):
        order = self._order(request, order_id)
        services.order_points_earn(order_id=order.pk)
        return Response(OrderPointsSerializer(_order_points(order)).data)


@extend_schema_view(
    post=extend_schema(
        summary=_("Take back an order's points as far as it was refunded or cancelled"),
        request=None,
        responses=OrderPointsSerializer,
        parameters=[IDEMPOTENCY_KEY],
    )
)
class OrderReverseApi(_OrderPointsApi):
    def perform(self, request, order_id: int):
        order = self._order(request, order_id)
        services.order_points_reverse(order_id=order.pk)
        return Response(OrderPointsSerializer(_order_points(order)).data)


# --- Rewards and codes ----------------------------------------------------------------------------


class RewardSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reward
        fields = ["id", "name", "description", "points_cost", "stock", "per_customer_limit"]
        fields += ["valid_from", "valid_until", "code_valid_days"]
        read_only_fields = fields


class RewardListApi(generics.ListAPIView):
    """The rewards on offer."""

    permission_classes = [HasAnyRole]
    serializer_class = RewardSerializer
    pagination_class = CursorPagination
    filter_backends = []  # a catalogue of a few dozen, newest first

    def get_queryset(self):
        return selectors.rewards_on_offer()

    @extend_schema(summary=_("The rewards catalogue"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RedemptionSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(source="member_id")
    reward = RewardSerializer()
    usable = serializers.SerializerMethodField()
    problem = serializers.SerializerMethodField()

    class Meta:
        model = Redemption
        fields = ["id", "code", "customer_id", "reward", "points", "created_at", "code_expires_at", "used_at"]
        fields += ["usable", "problem"]
        read_only_fields = fields

    def get_usable(self, redemption) -> bool:
        return not self.get_problem(redemption)

    def get_problem(self, redemption) -> str:
        return redeeming.code_problem(redemption)


class RedeemSerializer(InputSerializer):
    customer_id = IdField()
    reward_id = IdField()


@extend_schema_view(
    post=extend_schema(
        summary=_("Redeem a reward with a member's points"),
        request=RedeemSerializer,
        responses={201: RedemptionSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
)
class RedeemApi(IdempotentCreateMixin, _Post):
    def perform(self, request):
        data = RedeemSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = get_object_or_404(customer_visible_to(request.user), pk=data.validated_data["customer_id"])
        _editable(request.user, customer.pk)
        redemption = redeeming.reward_redeem(customer_id=customer.pk, reward_id=data.validated_data["reward_id"])
        return Response(RedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED)


def _visible_redemptions(user):
    return Redemption.objects.filter(member__customer__in=customer_visible_to(user))


class CodeCheckApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(summary=_("Check a reward code"), responses=RedemptionSerializer)
    def get(self, request, code: str):
        redemption, _problem = redeeming.redemption_check(code=code, redemptions=_visible_redemptions(request.user))
        if redemption is None:
            return Response(
                {"error": {"status": 404, "code": "not_found", "message": str(_("This code is unknown."))}},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(RedemptionSerializer(redemption).data)


@extend_schema_view(
    post=extend_schema(
        summary=_("Mark a reward code used (once)"),
        request=None,
        responses=RedemptionSerializer,
        parameters=[IDEMPOTENCY_KEY],
    )
)
class CodeUseApi(IdempotentCreateMixin, _Post):
    def perform(self, request, code: str):
        visible = _visible_redemptions(request.user)
        redemption, _problem = redeeming.redemption_check(code=code, redemptions=visible)
        if redemption is not None:
            _editable(request.user, redemption.member_id)
        redemption = redeeming.redemption_use(code=code, redemptions=visible)
        return Response(RedemptionSerializer(redemption).data)


# --- Results ------------------------------------------------------------------------------------


class ResultsQuerySerializer(InputSerializer):
    start = serializers.DateField(help_text=_("First day of the period."))
    end = serializers.DateField(help_text=_("Last day of the period."))

    def validate(self, data):
        if data["end"] < data["start"]:
            raise serializers.ValidationError({"end": _("The end must not be before the start.")})
        if data["start"] < EARLIEST:
            raise serializers.ValidationError({"start": _("Give a date from 1970 on.")})
        return data


class ResultsSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    active_members = serializers.IntegerField(help_text=_("Members who earned or redeemed in the period."))
    points_issued = serializers.IntegerField()
    points_reversed = serializers.IntegerField()
    points_redeemed = serializers.IntegerField()
    points_expired = serializers.IntegerField()
    redemption_rate = serializers.FloatField(allow_null=True)
    breakage = serializers.FloatField(
        allow_null=True,
        help_text=_(
            "Of the points whose expiry date fell in the period (up to now), the share that expired unredeemed "
            "(null when none did)."
        ),
    )
    breakage_cohort_points = serializers.IntegerField(help_text=_("Points whose expiry date fell in the period."))
    breakage_expired_points = serializers.IntegerField(help_text=_("Of those, the points that expired unredeemed."))
    referrals = serializers.IntegerField(help_text=_("Customers created in the period with a referrer."))
    referrals_converted = serializers.IntegerField(help_text=_("Referrals rewarded in the period."))
    referral_points = serializers.IntegerField(help_text=_("Points given for referrals in the period."))
    outstanding_points = serializers.IntegerField()
    outstanding_liability = serializers.DecimalField(max_digits=16, decimal_places=2)
    tiers = serializers.ListField(child=serializers.ListField())
    moves_up = serializers.IntegerField()
    moves_down = serializers.IntegerField()
    repeat_rate_members = serializers.FloatField(allow_null=True)
    repeat_rate_others = serializers.FloatField(allow_null=True)


class ResultsApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(
        summary=_("The programme's results over a period"),
        parameters=[ResultsQuerySerializer],
        responses=ResultsSerializer,
    )
    def get(self, request):
        if not roles.sees_every_book(request.user):
            raise PermissionDenied(_("The programme's results cover every customer: marketers and administrators."))
        query = ResultsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        zone = timezone.get_current_timezone()
        start = datetime.combine(query.validated_data["start"], time.min, tzinfo=zone)
        end = datetime.combine(query.validated_data["end"] + timedelta(days=1), time.min, tzinfo=zone)
        return Response(ResultsSerializer(programme_results(start=start, end=end)).data)


# --- Referrals ------------------------------------------------------------------------------------


class ReferralSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(help_text=_("The member whose code and link these are."))
    code = serializers.CharField()
    link = serializers.CharField(help_text=_("Their referral link: counts the visit and sends to the shop."))
    referred = serializers.IntegerField(help_text=_("Customers they referred."))
    converted = serializers.IntegerField(help_text=_("Of those, rewarded (first purchase kept)."))
    points = serializers.IntegerField(help_text=_("Points they earned for referrals."))


def _referral_body(member: Member) -> dict:
    code = referrals.referral_code_get(customer=member.customer).code
    return {
        "customer_id": member.pk,
        "code": code,
        "link": settings.PUBLIC_BASE_URL + referrals.referral_path(code),
        **referrals.member_referrals(customer_id=member.pk),
    }


class MemberReferralApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(summary=_("A member's referral code, link and results"), responses=ReferralSerializer)
    def get(self, request, customer_id: int):
        member = _visible_member(request.user, customer_id)
        return Response(ReferralSerializer(_referral_body(member)).data)


class ReferralRecordSerializer(InputSerializer):
    customer_id = IdField(help_text=_("The new customer, as created through the customers API."))
    code = serializers.CharField(max_length=32, help_text=_("The referral code the customer came with."))


class ReferralRecordedSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    referred_by = serializers.IntegerField(help_text=_("The referrer's customer id."))


@extend_schema_view(
    post=extend_schema(
        summary=_("Record that a new customer came through a referral code"),
        request=ReferralRecordSerializer,
        responses={201: ReferralRecordedSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
)
class ReferralRecordApi(IdempotentCreateMixin, _Post):
    def perform(self, request):
        data = ReferralRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = get_object_or_404(customer_visible_to(request.user), pk=data.validated_data["customer_id"])
        _editable(request.user, customer.pk)
        customer = referrals.referral_record(customer=customer, code=data.validated_data["code"])
        body = {"customer_id": customer.pk, "referred_by": customer.referred_by_id}
        return Response(ReferralRecordedSerializer(body).data, status=status.HTTP_201_CREATED)


# --- Contests -------------------------------------------------------------------------------------


class ContestSerializer(serializers.ModelSerializer):
    winners = serializers.SerializerMethodField(
        help_text=_("Customer ids of the winners, first drawn first (those the user may see).")
    )

    class Meta:
        model = Contest
        fields = ["id", "name", "description", "prize", "starts_at", "ends_at", "entry_rule", "min_amount"]
        fields += ["points_per_entry", "winners_count", "winner_method", "seed", "drawn_at", "winners"]
        read_only_fields = fields

    def get_winners(self, contest) -> list[int]:
        visible = self.context["visible_winners"]
        return [w.member_id for w in contest.winners.all() if w.member_id in visible]


class ContestListApi(generics.ListAPIView):
    """The contests, newest first, with their seed (before and after the draw) and winners."""

    permission_classes = [HasAnyRole]
    serializer_class = ContestSerializer
    pagination_class = CursorPagination
    filter_backends = []

    def get_queryset(self):
        return Contest.objects.prefetch_related("winners").order_by("-id")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return {**context, "visible_winners": set()}
        winners = customer_visible_to(self.request.user).filter(loyalty_member__contests_won__isnull=False)
        return {**context, "visible_winners": set(winners.values_list("pk", flat=True))}

    @extend_schema(summary=_("Contests and their results"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
