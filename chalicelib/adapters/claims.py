"""The claim aggregate in DynamoDB: the claim item, its timeline events and the idempotency keys that
guard intake, always written together in one transaction. Each method is one AWS call unless its
docstring says otherwise."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.callers import contact_to_model
from chalicelib.adapters.dynamo import error_code, limits_of, parse_ts, raise_if_throttled, request_throttled
from chalicelib.adapters.models import ClaimEventModel, ClaimModel, IdempotencyModel, PolicyModel, SurveyorModel
from chalicelib.adapters.resources import IDEMPOTENCY_TTL_DAYS
from chalicelib.domain.claim import (
    CLOSED_STATUSES,
    Channel,
    Claim,
    ClaimEvent,
    ClaimStatus,
    ClaimSubmission,
    Location,
    Segment,
    iso,
)
from chalicelib.domain.errors import ConcurrentUpdate, TemporarilyUnavailable
from chalicelib.domain.identity import normalise_phone, normalise_plate
from chalicelib.domain.surveyor import Surveyor, SurveyorStatus
from chalicelib.services.ports import AssignOutcome, IdempotencyRecord, NewClaim

_TRANSACTION_RETRIES = 4
_RECONCILE_DAYS = 14


REVIEW_QUEUE = "REVIEW"  # one queue of claims needing a person (see docs/architecture.md, "Storage", on its limits)


def review_rank(claim: Claim) -> str:
    """Sorts ascending as the agent queue reads: highest priority first, then oldest first."""
    return f"{100 - max(0, min(100, claim.priority)):03d}#{iso(claim.received_at)}#{claim.claim_id}"


def claim_to_model(claim: Claim) -> ClaimModel:
    sub = claim.submission
    return ClaimModel(
        claim.claim_id,
        owner=claim.owner,
        channel=sub.channel.value,
        status=claim.status.value,
        version=claim.version,
        event_seq=claim.event_seq,
        received_at=iso(claim.received_at),
        updated_at=iso(claim.updated_at),
        unscored_day=(iso(claim.received_at)[:10] if claim.status is ClaimStatus.RECEIVED else None),
        idempotency_key=claim.idempotency_key,
        correlation_id=claim.correlation_id,
        external_ref=sub.external_ref,
        policy_number=sub.policy_number,
        order_id=sub.order_id,
        claimant_name=sub.claimant_name,
        claimant_phone=sub.claimant_phone,
        caller_phone=normalise_phone(sub.claimant_phone),
        plate=sub.plate,
        loss_type=sub.loss_type,
        occurred_at=sub.occurred_at.isoformat(),
        description=sub.description,
        region_code=sub.location.region_code,
        address=sub.location.address,
        lat=sub.location.lat,
        lon=sub.location.lon,
        amount=str(sub.amount),
        currency=sub.currency,
        segment=claim.segment.value if claim.segment else None,
        score=claim.score,
        score_reasons=list(claim.score_reasons) or None,
        surveyor_id=claim.surveyor_id,
        resolution=claim.resolution,
        matched_by=claim.matched_by,
        resolved_policy=claim.policy_number,
        product=claim.product,
        candidates=list(claim.candidates) or None,
        covered=None if claim.covered is None else int(claim.covered),
        coverage_reasons=list(claim.coverage_reasons) or None,
        payable=None if claim.payable is None else str(claim.payable),
        attachment_count=claim.attachment_count or None,
        reused_photo_claims=list(claim.reused_photo_claims) or None,
        occurred_utc=iso(sub.occurred_at),
        plate_key=normalise_plate(sub.plate),
        priority=claim.priority or None,
        rules_version=claim.rules_version,
        score_detail=list(claim.score_detail) or None,
        waiting_since=iso(claim.waiting_since) if claim.waiting_since else None,
        escalated=1 if claim.escalated else None,
        decision=claim.decision,
        approved_amount=None if claim.approved_amount is None else str(claim.approved_amount),
        decided_by=claim.decided_by,
        decision_reason=claim.decision_reason,
        assessed_amount=None if claim.assessed_amount is None else str(claim.assessed_amount),
        survey_notes=claim.survey_notes,
        assessed_by=claim.assessed_by,
        assessed_at=iso(claim.assessed_at) if claim.assessed_at else None,
        attachments_expected=sub.attachments_expected,
        hold=1 if claim.hold else None,
        hold_reason=claim.hold_reason,
        reason_code=claim.reason_code,
        review_queue=REVIEW_QUEUE if claim.needs_a_person else None,
        review_rank=review_rank(claim) if claim.needs_a_person else None,
    )


def claim_from_model(m: ClaimModel) -> Claim:
    sub = ClaimSubmission(
        channel=Channel(m.channel),
        loss_type=m.loss_type,
        occurred_at=datetime.fromisoformat(m.occurred_at),
        description=m.description,
        location=Location(m.region_code, m.address, m.lat, m.lon),
        amount=Decimal(m.amount),
        currency=m.currency,
        claimant_name=m.claimant_name,
        claimant_phone=m.claimant_phone,
        policy_number=m.policy_number,
        order_id=m.order_id,
        plate=m.plate,
        external_ref=m.external_ref,
        attachments_expected=int(m.attachments_expected) if m.attachments_expected is not None else None,
    )
    return Claim(
        claim_id=m.claim_id,
        owner=m.owner,
        submission=sub,
        status=ClaimStatus(m.status),
        received_at=parse_ts(m.received_at),
        updated_at=parse_ts(m.updated_at),
        version=int(m.version),
        event_seq=int(m.event_seq),
        idempotency_key=m.idempotency_key,
        correlation_id=m.correlation_id,
        segment=Segment(m.segment) if m.segment else None,
        score=int(m.score) if m.score is not None else None,
        score_reasons=tuple(m.score_reasons or ()),
        surveyor_id=m.surveyor_id,
        resolution=m.resolution,
        matched_by=m.matched_by,
        policy_number=m.resolved_policy,
        product=m.product,
        candidates=tuple(m.candidates or ()),
        covered=None if m.covered is None else bool(m.covered),
        coverage_reasons=tuple(m.coverage_reasons or ()),
        payable=None if m.payable is None else Decimal(m.payable),
        attachment_count=int(m.attachment_count or 0),
        reused_photo_claims=tuple(m.reused_photo_claims or ()),
        priority=int(m.priority or 0),
        rules_version=m.rules_version,
        score_detail=tuple(m.score_detail or ()),
        waiting_since=parse_ts(m.waiting_since) if m.waiting_since else None,
        escalated=bool(m.escalated),
        decision=m.decision,
        approved_amount=None if m.approved_amount is None else Decimal(m.approved_amount),
        decided_by=m.decided_by,
        decision_reason=m.decision_reason,
        assessed_amount=None if m.assessed_amount is None else Decimal(m.assessed_amount),
        survey_notes=m.survey_notes,
        assessed_by=m.assessed_by,
        assessed_at=parse_ts(m.assessed_at) if m.assessed_at else None,
        hold=bool(m.hold),
        hold_reason=m.hold_reason,
        reason_code=m.reason_code,
    )


def event_to_model(e: ClaimEvent) -> ClaimEventModel:
    return ClaimEventModel(e.claim_id, e.seq, at=iso(e.at), actor=e.actor, kind=e.kind,
                           status=e.status.value, detail=e.detail or None)


def event_from_model(m: ClaimEventModel) -> ClaimEvent:
    return ClaimEvent(m.claim_id, int(m.seq), parse_ts(m.at), m.actor, m.kind, ClaimStatus(m.status),
                      m.detail or {})


def idempotency_to_model(r: IdempotencyRecord, now: datetime) -> IdempotencyModel:
    return IdempotencyModel(r.key, claim_id=r.claim_id, fingerprint=r.fingerprint, created_at=iso(now),
                            expires_at=now + timedelta(days=IDEMPOTENCY_TTL_DAYS))


def idempotency_from_raw(raw: dict) -> IdempotencyRecord:
    item = IdempotencyModel.from_raw_data(raw)
    return IdempotencyRecord(item.key, item.claim_id, item.fingerprint)


class DynamoClaimRepository:
    def __init__(self, connection: Connection | None = None, sleep=time.sleep):
        self._connection = connection
        self._sleep = sleep

    def connection(self) -> Connection:
        """The low-level connection its transactions use; other adapters share it (one HTTP pool)."""
        return self._conn()

    def _conn(self) -> Connection:
        if self._connection is None:
            meta = limits_of(ClaimModel)
            self._connection = Connection(region=meta.region, connect_timeout_seconds=meta.connect_timeout_seconds,
                                          read_timeout_seconds=meta.read_timeout_seconds,
                                          max_retry_attempts=meta.max_retry_attempts)
        return self._connection

    # -- intake ----------------------------------------------------------------------------------

    def add(self, new: NewClaim) -> IdempotencyRecord | None:
        return self.add_many([new])[0]

    def add_many(self, items: list[NewClaim]) -> list[IdempotencyRecord | None]:
        """One TransactWriteItems for all items (3 to 5 writes each, at most 100 in all); an item whose
        key is already taken is answered with the existing record (the first taken of its
        ``key_records()``) and the rest is written again."""
        results: list[IdempotencyRecord | None] = [None] * len(items)
        pending = list(range(len(items)))
        now = datetime.now(UTC)
        for attempt in range(_TRANSACTION_RETRIES + 1):
            if not pending:
                break
            # transaction item -> (index of the claim whose key it guards, rank in its key_records())
            slots: list[tuple[int, int] | None] = []
            try:
                with TransactWrite(connection=self._conn()) as tx:
                    for i in pending:
                        new = items[i]
                        tx.save(claim_to_model(new.claim), condition=ClaimModel.claim_id.does_not_exist())
                        tx.save(event_to_model(new.event), condition=ClaimEventModel.claim_id.does_not_exist())
                        slots += [None, None]
                        for rank, record in enumerate(new.key_records()):
                            tx.save(idempotency_to_model(record, now), condition=IdempotencyModel.key.does_not_exist(),
                                    return_values="ALL_OLD")
                            slots.append((i, rank))
                        if new.contact:  # keyed by time, call and kind: writing it again changes nothing
                            tx.save(contact_to_model(new.contact))
                            slots.append(None)
                pending = []
            except TransactWriteError as exc:
                taken: dict[int, IdempotencyRecord] = {}
                ranks: dict[int, int] = {}
                # one reason per item; a shorter list (never seen) leaves the rest without a reason
                for slot, reason in zip(slots, exc.cancellation_reasons, strict=False):
                    if slot is not None and reason is not None and reason.code == "ConditionalCheckFailed" \
                            and reason.raw_item:
                        i, rank = slot
                        if i not in taken or rank < ranks[i]:  # the request's own key answers first
                            taken[i], ranks[i] = idempotency_from_raw(reason.raw_item), rank
                if taken:
                    for i, record in taken.items():
                        results[i] = record
                    pending = [i for i in pending if i not in taken]
                    continue
                if request_throttled(exc):
                    raise TemporarilyUnavailable("Storage is busy; please retry shortly.") from exc
                if error_code(exc) != "TransactionCanceledException" or attempt == _TRANSACTION_RETRIES:
                    raise TemporarilyUnavailable("Storage is busy; please retry shortly.") from exc
                # a concurrent transaction touched the same key, or an item was throttled: nothing was
                # written, so the same items (same claim ids) are sent again after a short pause
                self._sleep(0.05 * (2 ** attempt))
        return results

    # -- reads -----------------------------------------------------------------------------------

    def get(self, claim_id: str) -> Claim | None:
        try:
            return claim_from_model(ClaimModel.get(claim_id, consistent_read=True))
        except ClaimModel.DoesNotExist:
            return None

    def get_many(self, claim_ids: list[str]) -> dict[str, Claim]:
        """Strongly consistent BatchGetItem, 100 keys a call (PynamoDB retries unprocessed keys); a
        missing claim is absent from the answer."""
        unique = list(dict.fromkeys(claim_ids))
        if len(unique) == 1:
            claim = self.get(unique[0])
            return {claim.claim_id: claim} if claim else {}
        return {m.claim_id: claim_from_model(m) for m in ClaimModel.batch_get(unique, consistent_read=True)}

    def events(self, claim_id: str) -> list[ClaimEvent]:
        return [event_from_model(m) for m in ClaimEventModel.query(claim_id, consistent_read=True)]

    def received_before(self, cutoff: datetime, limit: int) -> list[tuple[str, str | None]]:
        """One query per day of the reconcile window (14 days), oldest day first."""
        ids: list[tuple[str, str | None]] = []
        end = iso(cutoff)
        for back in range(_RECONCILE_DAYS, -1, -1):
            day = (cutoff - timedelta(days=back)).date().isoformat()
            for item in ClaimModel.unscored_index.query(day, ClaimModel.received_at < end, limit=limit - len(ids)):
                ids.append((item.claim_id, item.correlation_id))
            if len(ids) >= limit:
                break
        return ids

    # -- changes ---------------------------------------------------------------------------------

    def save(self, before: Claim, after: Claim, events: list[ClaimEvent]) -> None:
        """Claim and its new events in one transaction, guarded by the claim's version. A claim newly
        tied to a policy also marks itself as that policy's open claim, in the same transaction: that
        is what lets an IVR tell a caller about their claim with one query."""
        link = after.policy_number if after.policy_number and after.policy_number != before.policy_number \
            and after.status not in CLOSED_STATUSES else None
        if not self._transact(before, after, events, link):
            self._transact(before, after, events, None)  # the policy went away meanwhile: no marker
        # Only a claim that was open on its policy is unmarked: one scored straight to a closed status
        # (auto-approved) was never marked, and a conditional update would fail every time.
        if after.status in CLOSED_STATUSES and before.status not in CLOSED_STATUSES and before.policy_number \
                and after.policy_number:
            self._unmark_open_claim(after.policy_number, after.claim_id)

    def _transact(self, before: Claim, after: Claim, events: list[ClaimEvent], link: str | None) -> bool:
        """False when only the policy to mark was missing (nothing written)."""
        try:
            with TransactWrite(connection=self._conn()) as tx:
                tx.save(claim_to_model(after), condition=ClaimModel.version == before.version)
                for e in events:
                    tx.save(event_to_model(e), condition=ClaimEventModel.claim_id.does_not_exist())
                if link:
                    tx.update(PolicyModel(link), actions=[PolicyModel.open_claim_id.set(after.claim_id)],
                              condition=PolicyModel.policy_number.exists())
        except TransactWriteError as exc:
            # PynamoDB sends puts before updates: the reasons are [claim, events..., policy].
            failed = [r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons]
            if any(failed[:1 + len(events)]):
                raise ConcurrentUpdate("The claim was changed by someone else.") from exc
            if link and any(failed[1 + len(events):]):
                return False
            raise_if_throttled(exc)
            raise
        return True

    @staticmethod
    def _unmark_open_claim(policy_number: str, claim_id: str) -> None:
        """Best effort, one extra call when a claim closes: only if the policy still names this claim."""
        try:
            PolicyModel(policy_number).update(actions=[PolicyModel.open_claim_id.remove()],
                                              condition=PolicyModel.open_claim_id == claim_id)
        except Exception:  # noqa: BLE001 - another claim is marked, or the policy is gone
            return

    def complete_survey(self, surveyor_id: str, before: Claim, after: Claim, events: list[ClaimEvent]) -> bool:
        """Capacity back, claim and timeline in one transaction, guarded by the claim's version."""
        try:
            with TransactWrite(connection=self._conn()) as tx:
                tx.update(SurveyorModel(surveyor_id), actions=[SurveyorModel.active_claims.add(-1)],
                          condition=SurveyorModel.active_claims > 0)
                tx.save(claim_to_model(after), condition=ClaimModel.version == before.version)
                for e in events:
                    tx.save(event_to_model(e), condition=ClaimEventModel.claim_id.does_not_exist())
        except TransactWriteError as exc:
            if any(r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons):
                return False
            raise_if_throttled(exc)
            raise
        return True

    def assign_surveyor(self, surveyor: Surveyor, before: Claim, after: Claim, event: ClaimEvent) -> AssignOutcome:
        """Capacity, claim and timeline in one transaction: capacity can never be exceeded."""
        for attempt in range(_TRANSACTION_RETRIES + 1):
            try:
                with TransactWrite(connection=self._conn()) as tx:
                    tx.update(SurveyorModel(surveyor.surveyor_id), actions=[SurveyorModel.active_claims.add(1)],
                              condition=(SurveyorModel.active_claims < SurveyorModel.capacity)
                              & (SurveyorModel.status == SurveyorStatus.AVAILABLE.value))
                    tx.save(claim_to_model(after), condition=ClaimModel.version == before.version)
                    tx.save(event_to_model(event), condition=ClaimEventModel.claim_id.does_not_exist())
                return AssignOutcome.ASSIGNED
            except TransactWriteError as exc:
                # PynamoDB sends puts before updates, so the reasons are [claim, event, surveyor].
                reasons = exc.cancellation_reasons + [None, None, None]
                claim_failed, event_failed, surveyor_failed = [
                    r is not None and r.code == "ConditionalCheckFailed" for r in reasons[:3]]
                if claim_failed or event_failed:
                    return AssignOutcome.CLAIM_CHANGED
                if surveyor_failed:
                    return AssignOutcome.SURVEYOR_FULL
                if request_throttled(exc):
                    raise TemporarilyUnavailable("Storage is busy; please retry shortly.") from exc
                if attempt == _TRANSACTION_RETRIES:
                    return AssignOutcome.CLAIM_CHANGED  # the caller reloads and decides again
                self._sleep(0.05 * (2 ** attempt))
        return AssignOutcome.CLAIM_CHANGED
