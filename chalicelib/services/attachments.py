"""Claim photos: the claimant's browser uploads straight to the bucket, and each stored photo is
recorded, checked for reuse on other claims, and may let a waiting claim be decided."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.domain import claim as claim_domain
from chalicelib.domain.attachment import Attachment, object_key, parse_object_key, perceptual_hash, sha256_of
from chalicelib.domain.claim import Claim, ClaimEvent, ClaimStatus
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    FieldProblem,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.domain.ids import new_attachment_id
from chalicelib.observability import logger, traced
from chalicelib.services.ports import AttachmentIndex, AttachmentStore, ClaimQueue, ClaimRepository, Notifier, Telemetry

UPLOAD_EXPIRES_SECONDS = 600
_RECORD_ATTEMPTS = 5


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
                 clock: Callable[[], datetime] = claim_domain.utc_now, queue: ClaimQueue | None = None,
                 notifier: Notifier | None = None):
        self._claims = claims
        self._store = store
        self._index = index
        self._telemetry = telemetry
        self._types = allowed_types
        self._max_bytes = max_bytes
        self._clock = clock
        self._queue = queue
        self._notifier = notifier

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
            detail: dict[str, object] = {"attachment_id": attachment_id, "sha256": sha256, "phash": phash,
                                         "size": len(data)}
            if seen:
                detail["seen_on_claims"] = list(seen)
            now = self._clock()
            after, event = claim.record(
                "claim.attachment_added", actor="system:attachments", detail=detail, at=now,
                attachment_count=claim.attachment_count + 1,
                reused_photo_claims=tuple(sorted(set(claim.reused_photo_claims) | set(seen))))
            events = [event]
            if seen and _approved_by_the_system(after):
                after, held = _held_for_reused_photo(after, seen, now)
                events.append(held)
            try:
                recorded = self._index.record(attachment, claim, after, events)
            except ConcurrentUpdate:
                continue  # the claim moved on meanwhile (scored, say): record on its new version
            if not recorded:
                return "duplicate_delivery"
            self._telemetry.count("AttachmentsRecorded", 1)
            if seen:
                self._telemetry.count("AttachmentsSeenBefore", 1)
                logger.info("photo already seen on another claim", extra={"claim_id": claim_id, "seen_on": list(seen)})
            if after.status is not claim.status:
                self._telemetry.count("AutoApprovalsHeld", 1)
                logger.warning("automatic approval held: photo already used on another claim",
                               extra={"claim_id": claim_id})
                if self._notifier is not None:
                    self._notifier.status_changed(after)
            elif after.status is ClaimStatus.AWAITING_PHOTOS and (seen or not after.photos_missing):
                self._decide_now(after)
            return "recorded"
        raise ConcurrentUpdate("The claim kept changing; the attachment will be retried.")


    def _decide_now(self, claim: Claim) -> None:
        """The last expected photo is in (or one already used elsewhere): scoring may decide without
        waiting for the window. Best effort: the delayed message decides at the window's close anyway."""
        if self._queue is None:
            return
        try:
            self._queue.to_scoring(claim.claim_id, claim.correlation_id)
        except Exception:  # noqa: BLE001 - the photo is recorded; the window's message still comes
            logger.warning("could not ask for an early decision; the photo window's message will decide",
                           extra={"claim_id": claim.claim_id}, exc_info=True)


HELD_FOR_REUSED_PHOTO = "photo_reused_after_auto_approval"


def _approved_by_the_system(claim: Claim) -> bool:
    """Approved automatically and not yet paid (CLOSED): a new signal can still put it before a person."""
    return claim.status is ClaimStatus.APPROVED and claim.decision == claim_domain.AUTO_APPROVE


def _held_for_reused_photo(claim: Claim, seen: tuple[str, ...], now: datetime) -> tuple[Claim, ClaimEvent]:
    """Back to review with a hold: the approval is taken back (kept on the timeline) and the claim is
    weighed again with the photo signal, so it enters the agent queue in the lane and at the priority
    a reused photo gets at scoring."""
    from chalicelib.domain.scoring import rescore_with_photos  # rare path: the scoring rules load only here

    result = rescore_with_photos(claim.score_detail, claim.reused_photo_claims, claim.submission.amount)
    held, event = claim.transition(
        ClaimStatus.IN_REVIEW, actor="system:attachments", kind="claim.held", at=now, hold=True,
        hold_reason=HELD_FOR_REUSED_PHOTO, decision=None, decided_by=None, approved_amount=None,
        segment=result.segment, score=result.score, priority=result.priority, score_reasons=result.rule_ids,
        score_detail=tuple(r.as_dict() for r in result.reasons))
    detail = {**event.detail, "hold_reason": HELD_FOR_REUSED_PHOTO, "seen_on_claims": list(seen),
              "previous_decision": claim.decision,
              "previous_approved_amount": None if claim.approved_amount is None else str(claim.approved_amount)}
    return held, replace(event, detail=detail)
