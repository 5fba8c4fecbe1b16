"""Reads over the claims table's indexes: a policy's, plate's or phone's recent claims (for scoring)
and the agents' review queue, paged with an opaque cursor."""
from __future__ import annotations

import base64
import json
from datetime import datetime

from pynamodb.exceptions import QueryError

from chalicelib.adapters.claims import REVIEW_QUEUE, claim_from_model
from chalicelib.adapters.dynamo import error_code, parse_ts
from chalicelib.adapters.models import ClaimModel
from chalicelib.domain.claim import Claim, iso
from chalicelib.domain.errors import FieldProblem, ValidationFailed


class DynamoClaimHistory:
    """Each query reads at most ``limit`` claims (one page): the rules count up to a few, and a phone or
    plate with thousands of claims must not make scoring read thousands of items."""

    def __init__(self, limit: int = 50):
        self._limit = limit

    def on_policy(self, policy_number: str, loss_from: datetime, loss_to: datetime) -> list[tuple[str, datetime]]:
        return [(m.claim_id, parse_ts(m.occurred_utc)) for m in ClaimModel.by_policy_loss.query(
            policy_number, ClaimModel.occurred_utc.between(iso(loss_from), iso(loss_to)), limit=self._limit)]

    def on_plate(self, plate: str, loss_from: datetime, loss_to: datetime) -> list[tuple[str, datetime]]:
        return [(m.claim_id, parse_ts(m.occurred_utc)) for m in ClaimModel.by_plate_loss.query(
            plate, ClaimModel.occurred_utc.between(iso(loss_from), iso(loss_to)), limit=self._limit)]

    def from_phone_since(self, phone_e164: str, since: datetime) -> list[str]:
        return [m.claim_id for m in ClaimModel.by_caller.query(phone_e164, ClaimModel.received_at >= iso(since),
                                                                limit=self._limit)]


class DynamoReviewQueue:
    """One query a page on the sparse ``review-index``; the cursor is the last key, opaque to callers."""

    def page(self, limit: int, cursor: str | None) -> tuple[list[Claim], str | None]:
        start = _decode_cursor(cursor)
        try:
            result = ClaimModel.review_index.query(REVIEW_QUEUE, limit=limit, last_evaluated_key=start)
            claims = [claim_from_model(m) for m in result]
        except QueryError as exc:
            if start is not None and error_code(exc) == "ValidationException":  # a key DynamoDB will not start at
                raise _bad_cursor() from exc
            raise
        return claims, _encode_cursor(result.last_evaluated_key)


def _encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        key = None
    if not (isinstance(key, dict) and set(key) == {"claim_id", "review_queue", "review_rank"}
            and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
                    and 0 < len(v["S"]) <= _CURSOR_KEY_CHARS for v in key.values())
            and key["review_queue"]["S"] == REVIEW_QUEUE):
        raise _bad_cursor()
    return key


_CURSOR_KEY_CHARS = 256  # claim ids and review ranks are far shorter; DynamoDB refuses empty key values


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("The page cursor is not valid.", [FieldProblem("cursor", "is not a cursor this API gave")])
