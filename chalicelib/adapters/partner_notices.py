"""Partner notification adapters: callback URLs (DynamoDB, cached), the delivery log (DynamoDB) and
the HTTP sender (urllib, a short timeout, no redirects)."""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from chalicelib.adapters.models import NotificationModel, PartnerModel
from chalicelib.domain.claim import iso

DELIVERY_LOG_DAYS = 30
_CACHE_SECONDS = 60.0


class DynamoPartnerCallbacks:
    def __init__(self, clock=time.monotonic):
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def callback_url(self, partner_id: str) -> str | None:
        now = self._clock()
        cached = self._cache.get(partner_id)
        if cached and cached[1] > now:
            return cached[0]
        try:
            partner = PartnerModel.get(partner_id)
            url = partner.callback_url if partner.active else None
        except PartnerModel.DoesNotExist:
            url = None
        with self._lock:
            self._cache[partner_id] = (url, now + _CACHE_SECONDS)
        return url


class DynamoDeliveryLog:
    def delivered(self, claim_id: str, event_seq: int) -> bool:
        try:
            NotificationModel.get(claim_id, event_seq)
        except NotificationModel.DoesNotExist:
            return False
        return True

    def delivered_many(self, keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
        """One BatchGetItem (keys only) for up to 100 notices."""
        unique = list(dict.fromkeys(keys))
        if len(unique) == 1:
            return set(unique) if self.delivered(*unique[0]) else set()
        return {(m.claim_id, int(m.event_seq))
                for m in NotificationModel.batch_get(unique, attributes_to_get=["claim_id", "event_seq"])}

    def record(self, claim_id: str, event_seq: int, partner_id: str, status: str, attempts: int) -> None:
        _entry(claim_id, event_seq, partner_id, status, attempts).save()

    def record_many(self, deliveries) -> None:
        """One BatchWriteItem per 25 (PynamoDB resends unprocessed items)."""
        if len(deliveries) == 1:
            d = deliveries[0]
            self.record(d.claim_id, d.event_seq, d.partner_id, d.status, d.attempts)
            return
        with NotificationModel.batch_write() as batch:
            for d in deliveries:
                batch.save(_entry(d.claim_id, d.event_seq, d.partner_id, d.status, d.attempts))


def _entry(claim_id: str, event_seq: int, partner_id: str, status: str, attempts: int) -> NotificationModel:
    now = datetime.now(UTC)
    return NotificationModel(claim_id, event_seq, partner_id=partner_id, status=status, delivered_at=iso(now),
                             attempts=attempts, expires_at=now + timedelta(days=DELIVERY_LOG_DAYS))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # a callback answers, it does not move
        return None


class UrllibSender:
    def __init__(self, timeout_seconds: float = 5.0):
        self._timeout = timeout_seconds
        self._opener = urllib.request.build_opener(_NoRedirects, urllib.request.ProxyHandler({}))

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
