"""Response bodies of the HTTP routes, for the OpenAPI document (``chalicelib/api/openapi.py``).

The routes build their answers as dicts (``api/views.py`` and the blueprints); these models only
describe them. They are checked against what the routes really answer by the schemathesis run
(tests/integration/test_schemathesis.py), so a view that drifts from its description fails there.
Imported lazily, by the document's builder only: nothing here runs on a cold start.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.claim import Channel, ClaimStatus, Segment
from chalicelib.domain.outcome import REJECTION_REASONS

if TYPE_CHECKING:
    RejectionCode = str  # the checker sees a string; pydantic, the enum of domain/outcome.py's codes
else:
    RejectionCode = Literal[REJECTION_REASONS]

Language = Literal["zh-CN", "en"]


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# -- errors (api/http.py) ----------------------------------------------------------------------------

class FieldProblemOut(_Out):
    field: str = Field(description="Dotted path of the field to fix, or a header's name.")
    problem: str = Field(description="What is wrong with it; never the submitted value.")


class ErrorBodyOut(_Out):
    code: str = Field(description="Stable machine-readable code, e.g. VALIDATION_FAILED, UNAUTHENTICATED.")
    message: str
    details: list[FieldProblemOut] = Field(default_factory=list, description="Only present when not empty.")


class ErrorOut(_Out):
    """Every error, on every route: the contract's envelope, never a stack trace."""

    error: ErrorBodyOut


# -- partner API -------------------------------------------------------------------------------------

class SelfLink(_Out):
    self_: str = Field(alias="self")


class ClaimAcceptedOut(_Out):
    claim_id: str
    status: ClaimStatus
    links: SelfLink


class BatchItemAccepted(_Out):
    index: int
    status: Literal[202]
    claim_id: str
    claim_status: ClaimStatus
    replayed: bool


class BatchItemFailed(_Out):
    index: int
    status: int = Field(description="The status this claim alone would have had: 400, 409, 413 or 503.")
    error: ErrorBodyOut


class BatchResultsOut(_Out):
    results: list[BatchItemAccepted | BatchItemFailed] = Field(description="One result per claim, in order.")


class PolicyRefOut(_Out):
    number: str | None
    order_id: str | None


class MaskedClaimantOut(_Out):
    name: str | None = Field(description="Masked: first character, then one * per character.")
    phone: str | None = Field(description="Masked: the last four digits.")


class LossOut(_Out):
    type: str
    occurred_at: str
    region_code: str


class AmountOut(_Out):
    value: str = Field(description="Decimal string, e.g. 35.50.")
    currency: str


class ResolutionOut(_Out):
    outcome: str | None
    matched_by: str | None
    policy_number: str | None
    product: str | None
    candidates: list[str]


class CoverageOut(_Out):
    covered: bool
    reasons: list[str]
    suggested_payable: str | None


class DecisionSummaryOut(_Out):
    decision: str
    approved_amount: str | None


class CustomerMessageOut(_Out):
    zh_cn: str = Field(alias="zh-CN")
    en: str


class OutcomeOut(_Out):
    """A decided claim, as the customer is told: never the agent's own note, a score or a rule."""

    result: Literal["approved", "rejected"]
    reason_code: RejectionCode | None = Field(
        description="A rejection's reason; null for an approval, or a rejection decided without a code.")
    message: CustomerMessageOut = Field(description="Plain words for the customer, in both languages.")


class SurveyProgressOut(_Out):
    state: Literal["finding_surveyor", "surveyor_assigned"]
    expected_by: str | None = Field(description=(
        "While a surveyor is being found: when one is expected, the start of the wait plus "
        "DISPATCH_ESCALATE_AFTER_SECONDS; null once that has passed, or when one is assigned."))
    message: CustomerMessageOut = Field(description="Plain words for the customer, in both languages.")


class TimelineEntryOut(_Out):
    seq: int
    at: str
    status: ClaimStatus
    kind: str
    actor: str


class _ClaimCore(_Out):
    """What the partner's and the agent's views of a claim share; each adds its own decision, timeline,
    survey and links (the agent's hold more)."""

    claim_id: str
    status: ClaimStatus
    channel: Channel
    external_ref: str | None
    received_at: str
    updated_at: str
    version: int
    policy: PolicyRefOut
    claimant: MaskedClaimantOut
    loss: LossOut
    amount: AmountOut
    segment: Segment | None
    score: int | None
    surveyor_id: str | None
    resolution: ResolutionOut | None
    coverage: CoverageOut | None


_OUTCOME = "Once decided: the result and its reason for the customer."


class ClaimOut(_ClaimCore):
    decision: DecisionSummaryOut | None
    timeline: list[TimelineEntryOut]
    outcome: OutcomeOut | None = Field(description=_OUTCOME)
    survey: SurveyProgressOut | None = Field(description="While a surveyor is being found or is assigned.")
    links: SelfLink


# -- agents and surveyors ----------------------------------------------------------------------------

class TriageOut(_Out):
    claim_id: str
    version: int
    status: ClaimStatus
    channel: Channel
    loss_type: str
    received_at: str
    amount: AmountOut
    segment: Segment | None
    priority: int
    score: int | None
    rules_version: str | None
    reasons: list[dict] = Field(description='Each {"rule_id", "weight", "evidence"}.')
    policy_number: str | None
    resolution: str | None
    covered: bool | None
    suggested_payout: str | None
    escalated: bool
    reused_photo_claims: list[str]
    hold: bool = Field(description="Payment held: a signal came after the system approved it; a decision lifts it.")
    hold_reason: str | None = Field(description="Why, e.g. photo_reused_after_auto_approval; kept after the decision.")


class AgentDecisionOut(_Out):
    decision: str
    decided_by: str | None
    reason: str | None = Field(description="The agent's own note: never shown to the customer.")
    reason_code: str | None
    approved_amount: str | None


class AgentLinks(_Out):
    self_: str = Field(alias="self")
    decision: str


class AgentTimelineEntryOut(TimelineEntryOut):
    detail: dict = Field(description="What the step recorded: policy match, score reasons, photo signals, the "
                                     "survey's assessment, an override's reason code and any limit exceeded.")


class SurveyOut(_Out):
    assessed_amount: str | None = Field(description="What the surveyor assessed; the suggestion follows it.")
    notes: str | None = Field(description="The surveyor's notes (agents only; never in partner views or logs).")
    assessed_by: str
    assessed_at: str | None


class AgentClaimOut(_ClaimCore):
    decision: AgentDecisionOut | None
    timeline: list[AgentTimelineEntryOut]
    outcome: OutcomeOut | None = Field(description=_OUTCOME)
    survey: SurveyOut | None = Field(description="The field survey, once completed.")
    links: AgentLinks
    triage: TriageOut


class AgentQueueOut(_Out):
    claims: list[TriageOut]
    next_cursor: str | None = Field(description="Give it as ?cursor= for the next page; null on the last.")


class ScreenPopCustomerOut(_Out):
    customer_id: str
    name: str
    language: str
    id_number: str | None = Field(description="Masked: the first 3 and last 2 characters.")


class ScreenPopPolicyOut(_Out):
    policy_number: str
    product: str
    status: str
    starts_on: str
    ends_on: str
    plate: str | None
    partner_id: str | None


class ScreenPopClaimOut(_Out):
    claim_id: str
    status: str
    channel: str
    loss_type: str
    received_at: str
    policy_number: str | None


class ScreenPopContactOut(_Out):
    at: str
    channel: str
    kind: str
    contact_id: str
    claim_id: str | None


class ScreenPopOut(_Out):
    phone: str
    customer: ScreenPopCustomerOut | None
    policies: list[ScreenPopPolicyOut]
    open_claims: list[ScreenPopClaimOut]
    contacts: list[ScreenPopContactOut]


class SurveyorStatusOut(_Out):
    surveyor_id: str
    status: Literal["AVAILABLE", "OFF_DUTY"]


class SurveyCompletedOut(_Out):
    claim_id: str
    status: ClaimStatus
    version: int


# -- customer form -----------------------------------------------------------------------------------

class PerilOut(_Out):
    code: str
    name: dict[str, str]


class PolicyCheckOut(_Out):
    product: str
    product_name: dict[str, str]
    perils: list[PerilOut]


class PublicClaimAcceptedOut(_Out):
    claim_id: str
    status: ClaimStatus
    status_url: str
    status_token: str
    reference: str


class PublicTimelineEntryOut(_Out):
    at: str
    kind: str
    status: ClaimStatus


class PublicClaimStatusOut(_Out):
    claim_id: str
    reference: str
    status: ClaimStatus
    next_step: str
    language: Language
    received_at: str
    timeline: list[PublicTimelineEntryOut]
    attachments: int
    outcome: OutcomeOut | None = Field(description="Once decided: the result and its reason, in plain words.")
    survey: SurveyProgressOut | None = Field(description="While a surveyor is being found or is assigned.")


class UploadFormOut(_Out):
    url: str
    fields: dict[str, str] = Field(description="Post them with the file, as multipart/form-data, to url.")


class UploadTicketOut(_Out):
    attachment_id: str
    upload: UploadFormOut
    max_bytes: int
    expires_in: int


# -- hotline vendor events ---------------------------------------------------------------------------

class CallerFoundOut(_Out):
    found: bool
    customer_ref: str | None
    language: str


class CallerPoliciesOut(_Out):
    active: int
    primary_policy: str | None
    primary_product: str | None
    products: list[str]


class OpenClaimOut(_Out):
    claim_id: str
    reference: str


class CallStartedOut(_Out):
    call_id: str
    customer: CallerFoundOut
    policies: CallerPoliciesOut
    open_claim: OpenClaimOut | None


class ClaimReportedOut(_Out):
    claim_id: str
    status: ClaimStatus
    reference: str
    reference_spoken: str
    already_reported: bool
    replayed: bool
