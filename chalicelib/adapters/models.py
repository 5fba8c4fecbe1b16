"""PynamoDB models: the storage shape of every record. Only adapters import this module."""
from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.adapters.resources import Tables


class _Meta:
    billing_mode = "PAY_PER_REQUEST"


def _strings() -> ListAttribute[str]:
    """A list of strings, or nothing."""
    # PynamoDB annotates ``of`` as the elements' own type, but takes their attribute class.
    return ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # see the line above


class UnscoredIndex(GlobalSecondaryIndex):
    """Sparse: only claims still RECEIVED carry ``unscored_day``; the reconciler reads it."""

    class Meta:
        index_name = "unscored-index"
        projection = IncludeProjection(["correlation_id"])

    unscored_day = UnicodeAttribute(hash_key=True)
    received_at = UnicodeAttribute(range_key=True)


class CallerPhoneIndex(GlobalSecondaryIndex):
    """A caller's claims, newest first: the agent's screen pop lists the open ones."""

    class Meta:
        index_name = "caller-phone-index"
        projection = IncludeProjection(["status", "channel", "loss_type", "resolved_policy", "owner"])

    caller_phone = UnicodeAttribute(hash_key=True)
    received_at = UnicodeAttribute(range_key=True)


class ReviewIndex(GlobalSecondaryIndex):
    """Sparse: only claims that need a person carry ``review_queue``. Sorted by ``review_rank``
    (100 - priority, then time received): the agent queue, highest priority first, oldest first."""

    class Meta:
        index_name = "review-index"
        projection = AllProjection()

    review_queue = UnicodeAttribute(hash_key=True)
    review_rank = UnicodeAttribute(range_key=True)


class PolicyLossIndex(GlobalSecondaryIndex):
    """Claims on one policy by loss time: possible duplicates and claim velocity."""

    class Meta:
        index_name = "policy-loss-index"
        projection = IncludeProjection(["received_at"])

    resolved_policy = UnicodeAttribute(hash_key=True)
    occurred_utc = UnicodeAttribute(range_key=True)


class PlateLossIndex(GlobalSecondaryIndex):
    """Claims on one vehicle by loss time: possible duplicates across policies and channels."""

    class Meta:
        index_name = "plate-loss-index"
        projection = IncludeProjection(["received_at"])

    plate_key = UnicodeAttribute(hash_key=True)
    occurred_utc = UnicodeAttribute(range_key=True)


class ClaimModel(Model):
    class Meta(_Meta):
        table_name = Tables.CLAIMS

    claim_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    channel = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute()
    event_seq = NumberAttribute()
    received_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    unscored_day = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    correlation_id = UnicodeAttribute(null=True)
    external_ref = UnicodeAttribute(null=True)
    policy_number = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    claimant_name = UnicodeAttribute(null=True)
    claimant_phone = UnicodeAttribute(null=True)  # as the claimant wrote it
    caller_phone = UnicodeAttribute(null=True)  # the same in E.164, when it is a valid number
    plate = UnicodeAttribute(null=True)
    loss_type = UnicodeAttribute()
    occurred_at = UnicodeAttribute()  # ISO 8601 with the claimant's own offset
    description = UnicodeAttribute()
    region_code = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    lat = NumberAttribute(null=True)
    lon = NumberAttribute(null=True)
    amount = UnicodeAttribute()  # decimal as text: no float rounding of money
    currency = UnicodeAttribute()
    segment = UnicodeAttribute(null=True)
    score = NumberAttribute(null=True)
    score_reasons = _strings()
    surveyor_id = UnicodeAttribute(null=True)
    resolution = UnicodeAttribute(null=True)
    matched_by = UnicodeAttribute(null=True)
    resolved_policy = UnicodeAttribute(null=True)
    product = UnicodeAttribute(null=True)
    candidates = _strings()
    covered = NumberAttribute(null=True)
    coverage_reasons = _strings()
    payable = UnicodeAttribute(null=True)
    attachment_count = NumberAttribute(null=True)
    reused_photo_claims = _strings()
    occurred_utc = UnicodeAttribute(null=True)  # the loss time in UTC, sortable (duplicate search)
    plate_key = UnicodeAttribute(null=True)  # the plate, normalised
    priority = NumberAttribute(null=True)
    rules_version = UnicodeAttribute(null=True)
    score_detail = JSONAttribute(null=True)  # every reason: rule id, weight, evidence
    waiting_since = UnicodeAttribute(null=True)
    escalated = NumberAttribute(null=True)
    decision = UnicodeAttribute(null=True)
    approved_amount = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    assessed_amount = UnicodeAttribute(null=True)  # a surveyor's assessment; decimal as text
    survey_notes = UnicodeAttribute(null=True)
    assessed_by = UnicodeAttribute(null=True)
    assessed_at = UnicodeAttribute(null=True)
    attachments_expected = NumberAttribute(null=True)  # photos the sender said will follow
    hold = NumberAttribute(null=True)  # 1: payment held for a person (a signal after an automatic approval)
    hold_reason = UnicodeAttribute(null=True)
    reason_code = UnicodeAttribute(null=True)
    review_queue = UnicodeAttribute(null=True)
    review_rank = UnicodeAttribute(null=True)

    unscored_index = UnscoredIndex()
    by_caller = CallerPhoneIndex()
    review_index = ReviewIndex()
    by_policy_loss = PolicyLossIndex()
    by_plate_loss = PlateLossIndex()


class ClaimEventModel(Model):
    """Append-only timeline: one item per status change, never updated."""

    class Meta(_Meta):
        table_name = Tables.CLAIM_EVENTS

    claim_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    kind = UnicodeAttribute()
    status = UnicodeAttribute()
    detail = JSONAttribute(null=True)


class IdempotencyModel(Model):
    class Meta(_Meta):
        table_name = Tables.IDEMPOTENCY

    key = UnicodeAttribute(hash_key=True)
    claim_id = UnicodeAttribute()
    fingerprint = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute()


class PartnerModel(Model):
    class Meta(_Meta):
        table_name = Tables.PARTNERS

    partner_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    active = NumberAttribute(default=1)
    callback_url = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # The partner's own rate limit (requests a second, burst); unset: PARTNER_RATE_LIMIT_PER_SECOND and
    # PARTNER_RATE_BURST. Read with the partner on each API key lookup, cached with it.
    rate_limit_per_second = NumberAttribute(null=True)
    rate_burst = NumberAttribute(null=True)


class ApiKeyModel(Model):
    """One item per partner API key; only the SHA-256 of the key is stored."""

    class Meta(_Meta):
        table_name = Tables.API_KEYS

    key_hash = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    active = NumberAttribute(default=1)
    created_at = UTCDateTimeAttribute()


class _PolicyIndex(GlobalSecondaryIndex):
    class Meta:
        projection = AllProjection()


class PolicyPhoneIndex(_PolicyIndex):
    class Meta(_PolicyIndex.Meta):
        index_name = "holder-phone-index"

    holder_phone = UnicodeAttribute(hash_key=True)


class PolicyPlateIndex(_PolicyIndex):
    class Meta(_PolicyIndex.Meta):
        index_name = "plate-index"

    plate = UnicodeAttribute(hash_key=True)


class PolicyOrderIndex(_PolicyIndex):
    class Meta(_PolicyIndex.Meta):
        index_name = "order-id-index"

    order_id = UnicodeAttribute(hash_key=True)


class PolicyModel(Model):
    """A policy. Keys are stored normalised (chalicelib.domain.identity): policy number upper case
    without spaces, phone in E.164, plate without separators. Dates are the policy's local dates,
    inclusive, in the product's time zone."""

    class Meta(_Meta):
        table_name = Tables.POLICIES

    policy_number = UnicodeAttribute(hash_key=True)
    product = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    holder_name = UnicodeAttribute()
    holder_phone = UnicodeAttribute(null=True)
    plate = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    partner_id = UnicodeAttribute(null=True)
    starts_on = UnicodeAttribute()
    ends_on = UnicodeAttribute()
    status = UnicodeAttribute(default="ACTIVE")
    holder_language = UnicodeAttribute(null=True)  # the holder's, so one query tells an IVR everything
    open_claim_id = UnicodeAttribute(null=True)  # the latest open claim tied to this policy

    by_phone = PolicyPhoneIndex()
    by_plate = PolicyPlateIndex()
    by_order = PolicyOrderIndex()


class CustomerPhoneIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "phone-index"
        projection = AllProjection()

    phone = UnicodeAttribute(hash_key=True)


class CustomerModel(Model):
    """A policyholder. ``id_number`` is personal data: never logged, shown only masked."""

    class Meta(_Meta):
        table_name = Tables.CUSTOMERS

    customer_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    id_number = UnicodeAttribute(null=True)
    language = UnicodeAttribute(default="zh-CN")

    by_phone = CustomerPhoneIndex()


class SurveyorRegionIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "region-index"
        projection = AllProjection()

    region_code = UnicodeAttribute(hash_key=True)


class SurveyorModel(Model):
    class Meta(_Meta):
        table_name = Tables.SURVEYORS

    surveyor_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    region_code = UnicodeAttribute()
    status = UnicodeAttribute()
    capacity = NumberAttribute()
    active_claims = NumberAttribute(default=0)
    lat = NumberAttribute(null=True)  # the surveyor's base, WGS84
    lon = NumberAttribute(null=True)

    by_region = SurveyorRegionIndex()


class ContactModel(Model):
    """One entry per IVR call (and per step of it): the agent's screen pop shows the latest."""

    class Meta(_Meta):
        table_name = Tables.CONTACTS

    phone = UnicodeAttribute(hash_key=True)  # E.164
    sort_key = UnicodeAttribute(range_key=True)  # "<ISO time>#<contact id>#<kind>": newest last
    at = UnicodeAttribute()
    channel = UnicodeAttribute()
    kind = UnicodeAttribute()  # identified / claim_reported / ...
    contact_id = UnicodeAttribute()
    claim_id = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class AttachmentSha256Index(GlobalSecondaryIndex):
    class Meta:
        index_name = "sha256-index"
        projection = KeysOnlyProjection()  # the table's keys (claim_id, attachment_id) are all it needs

    sha256 = UnicodeAttribute(hash_key=True)


class AttachmentPhashIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "phash-index"
        projection = KeysOnlyProjection()  # the table's keys (claim_id, attachment_id) are all it needs

    phash = UnicodeAttribute(hash_key=True)


class AttachmentModel(Model):
    """A photo of a claim, recorded once S3 has it: its hashes tell a photo already seen elsewhere."""

    class Meta(_Meta):
        table_name = Tables.ATTACHMENTS

    claim_id = UnicodeAttribute(hash_key=True)
    attachment_id = UnicodeAttribute(range_key=True)
    object_key = UnicodeAttribute()
    content_type = UnicodeAttribute(null=True)
    size = NumberAttribute()
    sha256 = UnicodeAttribute()
    phash = UnicodeAttribute(null=True)  # 64-bit perceptual hash, hex; none when the image cannot be read
    recorded_at = UnicodeAttribute()
    seen_on_claims = _strings()

    by_sha256 = AttachmentSha256Index()
    by_phash = AttachmentPhashIndex()


class RateLimitModel(Model):
    """A fixed-window request counter, e.g. ``phone:+8613800138000#<window start>``; expires by TTL."""

    class Meta(_Meta):
        table_name = Tables.RATE_LIMITS

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class NotificationModel(Model):
    """A partner notification delivered: redelivered messages find it and send nothing again."""

    class Meta(_Meta):
        table_name = Tables.NOTIFICATIONS

    claim_id = UnicodeAttribute(hash_key=True)
    event_seq = NumberAttribute(range_key=True)
    partner_id = UnicodeAttribute()
    status = UnicodeAttribute()
    delivered_at = UnicodeAttribute()
    attempts = NumberAttribute()
    expires_at = TTLAttribute()


ALL_MODELS: tuple[type[Model], ...] = (
    ClaimModel, ClaimEventModel, IdempotencyModel, PartnerModel, ApiKeyModel, PolicyModel, CustomerModel, SurveyorModel,
    ContactModel, AttachmentModel, RateLimitModel, NotificationModel)
