"""The customer's own channel: the claim form, the status page and claim photos."""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable

from chalicelib.domain import claim as claim_domain
from chalicelib.domain import status_token
from chalicelib.domain.attachment import Attachment, object_key, parse_object_key, perceptual_hash, sha256_of
from chalicelib.domain.claim import Claim, ClaimEvent, ClaimStatus, ClaimSubmission
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    FieldProblem,
    NotFound,
    PayloadTooLarge,
    PolicyNotMatched,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.domain.identity import normalise_phone, normalise_policy_number
from chalicelib.domain.ids import new_attachment_id
from chalicelib.domain.policy import Policy
from chalicelib.domain.products import Catalogue, Product
from chalicelib.observability import logger, traced
from chalicelib.services.intake import Accepted, IntakeRequest, IntakeService
from chalicelib.services.ports import (
    AttachmentIndex,
    AttachmentStore,
    ClaimRepository,
    PolicyDirectory,
    RateLimiter,
    Telemetry,
)

PUBLIC_OWNER = "public"
UPLOAD_EXPIRES_SECONDS = 600
_RECORD_ATTEMPTS = 5


@dataclass(frozen=True)
class FormLimits:
    per_phone: int
    per_address: int
    window_seconds: int


@dataclass(frozen=True)
class PublicSubmission:
    """A claim from the form, parsed: the claimant proves the policy with its number and their phone."""

    submission_key: str
    policy_number: str
    phone: str
    submission: ClaimSubmission
    language: str


@dataclass(frozen=True)
class PublicAccepted:
    accepted: Accepted
    token: str


class PublicClaims:
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
        if problems:
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
    def submit(self, form: PublicSubmission, client_address: str | None, correlation_id: str | None) -> PublicAccepted:
        policy, product = self.check_policy(form.policy_number, form.phone, client_address)
        sub = form.submission
        if sub.loss_type not in product.perils:
            raise ValidationFailed("The claim is not valid.", [FieldProblem("loss_type", "is not covered by this policy")])
        sub = replace(sub, policy_number=policy.policy_number, claimant_phone=policy.holder_phone)
        accepted = self._intake.submit(IntakeRequest(PUBLIC_OWNER, sub, f"form:{form.submission_key}",
                                                     correlation_id=correlation_id))
        return PublicAccepted(accepted, self.token_for(accepted.claim_id, form.language))

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


@dataclass(frozen=True)
class UploadTicket:
    attachment_id: str
    url: str
    fields: dict
    max_bytes: int
    expires_in: int


class AttachmentService:
    """Photos go from the claimant's browser straight to S3 (a presigned POST: type and size enforced
    by S3 itself); once stored, each is hashed and recorded on its claim, and a photo already seen on
    another claim is flagged."""

    def __init__(self, claims: ClaimRepository, store: AttachmentStore, index: AttachmentIndex, telemetry: Telemetry,
                 allowed_types: tuple[str, ...], max_bytes: int,
                 clock: Callable[[], datetime] = claim_domain.utc_now):
        self._claims = claims
        self._store = store
        self._index = index
        self._telemetry = telemetry
        self._types = allowed_types
        self._max_bytes = max_bytes
        self._clock = clock

    @traced
    def request_upload(self, claim: Claim, content_type: str, size: int | None) -> UploadTicket:
        if content_type not in self._types:
            raise UnsupportedMediaType(f"Photos must be one of: {', '.join(self._types)}.")
        if size is not None and size > self._max_bytes:
            raise PayloadTooLarge(f"A photo may be at most {self._max_bytes // (1024 * 1024)} MiB.")
        if size is not None and size < 1:
            raise ValidationFailed("The photo is empty.", [FieldProblem("size", "must be at least 1 byte")])
        attachment_id = new_attachment_id()
        post = self._store.presign_upload(object_key(claim.claim_id, attachment_id), content_type, self._max_bytes,
                                          UPLOAD_EXPIRES_SECONDS)
        return UploadTicket(attachment_id, post["url"], post["fields"], self._max_bytes, UPLOAD_EXPIRES_SECONDS)

    @traced
    def record_upload(self, key: str, content_type: str | None = None) -> str:
        """Called for every object S3 stored. Idempotent: an attachment recorded before is left alone.
        Returns what happened: recorded, duplicate_delivery, ignored (not ours), missing."""
        parsed = parse_object_key(key)
        if parsed is None:
            logger.warning("object key not issued by this service; ignored")
            return "ignored"
        claim_id, attachment_id = parsed
        data = self._store.read(key, self._max_bytes)
        if data is None:
            logger.warning("attachment missing or too large; ignored", extra={"claim_id": claim_id})
            return "missing"
        sha256, phash = sha256_of(data), perceptual_hash(data)
        seen = tuple(sorted(self._index.claims_with(sha256, phash) - {claim_id}))
        for _ in range(_RECORD_ATTEMPTS):
            claim = self._claims.get(claim_id)
            if claim is None:
                logger.warning("attachment for an unknown claim; ignored", extra={"claim_id": claim_id})
                return "ignored"
            attachment = Attachment(claim_id, attachment_id, key, len(data), sha256, phash, content_type, seen)
            detail = {"attachment_id": attachment_id, "sha256": sha256, "phash": phash, "size": len(data)}
            if seen:
                detail["seen_on_claims"] = list(seen)
            after, event = claim.record(
                "claim.attachment_added", actor="system:attachments", detail=detail, at=self._clock(),
                attachment_count=claim.attachment_count + 1,
                reused_photo_claims=tuple(sorted(set(claim.reused_photo_claims) | set(seen))))
            try:
                recorded = self._index.record(attachment, claim, after, event)
            except ConcurrentUpdate:
                continue  # the claim moved on meanwhile (scored, say): record on its new version
            if not recorded:
                return "duplicate_delivery"
            self._telemetry.count("AttachmentsRecorded", 1)
            if seen:
                self._telemetry.count("AttachmentsSeenBefore", 1)
                logger.info("photo already seen on another claim", extra={"claim_id": claim_id, "seen_on": list(seen)})
            return "recorded"
        raise ConcurrentUpdate("The claim kept changing; the attachment will be retried.")


IN_PROGRESS = "in_progress"  # the next step of a status with no words of its own yet
_NEXT_STEPS = {
    ClaimStatus.RECEIVED: "wait_for_review",
    ClaimStatus.SCORED: "wait_for_review",
    ClaimStatus.IN_REVIEW: "wait_for_review",
    ClaimStatus.AWAITING_SURVEYOR: "wait_for_surveyor",
    ClaimStatus.WAITING_FOR_SURVEYOR: "wait_for_surveyor",
    ClaimStatus.SURVEYOR_ASSIGNED: "surveyor_will_call",
    ClaimStatus.SURVEY_COMPLETED: "wait_for_review",
    ClaimStatus.APPROVED: "payment_on_the_way",
    ClaimStatus.REJECTED: "decision_made",
    ClaimStatus.CLOSED: "closed",
}


def next_step(status: ClaimStatus) -> str:
    """What the claimant waits for, as the status page words it; a status without its own words (one
    added later) is "in progress", never an error."""
    return _NEXT_STEPS.get(status, IN_PROGRESS)


def _same(stored: str | None, given: str) -> bool:
    return stored is not None and hmac.compare_digest(stored.encode(), given.encode())
