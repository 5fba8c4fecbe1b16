"""The claim form's use cases: the claimant, who has no account, proves the policy with its number
and the phone on it, submits a claim and follows it on a status page reached with a signed token."""
from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from chalicelib.domain import status_token
from chalicelib.domain.claim import Claim, ClaimEvent, ClaimStatus, ClaimSubmission
from chalicelib.domain.errors import FieldProblem, NotFound, PolicyNotMatched, ValidationFailed
from chalicelib.domain.identity import normalise_phone, normalise_policy_number
from chalicelib.domain.policy import Policy
from chalicelib.domain.products import Catalogue, Product
from chalicelib.observability import traced
from chalicelib.services.intake import Accepted, IntakeRequest, IntakeService
from chalicelib.services.ports import ClaimRepository, PolicyDirectory, RateLimiter, Telemetry

PUBLIC_OWNER = "public"


@dataclass(frozen=True)
class FormLimits:
    per_phone: int
    per_address: int
    window_seconds: int


@dataclass(frozen=True)
class FormSubmission:
    """A claim from the form, parsed: the claimant proves the policy with its number and their phone."""

    submission_key: str
    policy_number: str
    phone: str
    submission: ClaimSubmission
    language: str


@dataclass(frozen=True)
class FormAccepted:
    accepted: Accepted
    token: str


class ClaimFormService:
    """Policy check, submission and status for claimants, who have no account: a policy number and
    the phone on it are the proof, rate limited per phone and per client address; the status page is
    reached with a signed, expiring token."""

    def __init__(self, policies: PolicyDirectory, limiter: RateLimiter, intake: IntakeService, claims: ClaimRepository,
                 products: Catalogue, token_secret: bytes | None, token_days: int, limits: FormLimits,
                 telemetry: Telemetry, now: Callable[[], float] = time.time):
        self._policies = policies
        self._limiter = limiter
        self._intake = intake
        self._claims = claims
        self._products = products
        self._secret = token_secret
        self._token_seconds = token_days * 86400
        self._limits = limits
        self._telemetry = telemetry
        self._now = now

    @traced
    def check_policy(self, policy_number: str, phone: str, client_address: str | None) -> tuple[Policy, Product]:
        number, e164 = normalise_policy_number(policy_number), normalise_phone(phone)
        problems = ([FieldProblem("policy_number", "is not a policy number")] if not number else []) + \
                   ([FieldProblem("phone", "is not a phone number")] if not e164 else [])
        if problems or number is None or e164 is None:
            raise ValidationFailed("The form is not valid.", problems)
        self._count(e164, client_address)
        policy = self._policies.by_number(number)
        product = self._products.get(policy.product) if policy else None
        # The phone is the claimant's proof of holding the policy: compared in constant time, like a secret.
        if policy is None or not _same(policy.holder_phone, e164) or product is None:
            self._telemetry.count("PublicPolicyNotMatched", 1)
            raise PolicyNotMatched()
        return policy, product

    @traced
    def submit(self, form: FormSubmission, client_address: str | None, correlation_id: str | None) -> FormAccepted:
        policy, product = self.check_policy(form.policy_number, form.phone, client_address)
        sub = form.submission
        if sub.loss_type not in product.perils:
            raise ValidationFailed("The claim is not valid.",
                                   [FieldProblem("loss_type", "is not covered by this policy")])
        sub = replace(sub, policy_number=policy.policy_number, claimant_phone=policy.holder_phone)
        accepted = self._intake.submit(IntakeRequest(PUBLIC_OWNER, sub, f"form:{form.submission_key}",
                                                     correlation_id=correlation_id))
        return FormAccepted(accepted, self.token_for(accepted.claim_id, form.language))

    def token_for(self, claim_id: str, language: str) -> str:
        return status_token.issue(self._require_secret(), claim_id, language, int(self._now()) + self._token_seconds)

    def grant(self, claim_id: str, token: str | None) -> status_token.StatusGrant:
        grant = status_token.verify(self._require_secret(), claim_id, token, int(self._now()))
        if grant is None:
            raise NotFound("No such claim.")
        return grant

    def status(self, claim_id: str, token: str | None) -> tuple[Claim, list[ClaimEvent], str]:
        grant = self.grant(claim_id, token)
        claim = self._claims.get(claim_id)
        if claim is None:
            raise NotFound("No such claim.")
        return claim, self._claims.events(claim_id), grant.language

    def _count(self, phone: str, client_address: str | None) -> None:
        keys = [(f"phone:{phone}", self._limits.per_phone)]
        if client_address:
            keys.append((f"addr:{client_address}", self._limits.per_address))
        self._limiter.hit(keys, self._limits.window_seconds)

    def _require_secret(self) -> bytes:
        if not self._secret:
            raise RuntimeError("STATUS_TOKEN_SECRET is not set")
        return self._secret


IN_PROGRESS = "in_progress"  # the next step of a status with no words of its own yet
_NEXT_STEPS = {
    ClaimStatus.RECEIVED: "wait_for_review",
    ClaimStatus.SCORED: "wait_for_review",
    ClaimStatus.AWAITING_PHOTOS: "wait_for_review",
    ClaimStatus.IN_REVIEW: "wait_for_review",
    ClaimStatus.AWAITING_SURVEYOR: "wait_for_surveyor",
    ClaimStatus.WAITING_FOR_SURVEYOR: "wait_for_surveyor",
    ClaimStatus.SURVEYOR_ASSIGNED: "surveyor_will_call",
    ClaimStatus.SURVEY_COMPLETED: "wait_for_review",
    ClaimStatus.APPROVED: "payment_on_the_way",
    ClaimStatus.REJECTED: "decision_made",
    ClaimStatus.CLOSED: "closed",
    ClaimStatus.NEEDS_ATTENTION: "wait_for_review",
}


def next_step(status: ClaimStatus) -> str:
    """What the claimant waits for, as the status page words it; a status without its own words (one
    added later) is "in progress", never an error."""
    return _NEXT_STEPS.get(status, IN_PROGRESS)


def _same(stored: str | None, given: str) -> bool:
    return stored is not None and hmac.compare_digest(stored.encode(), given.encode())
