"""Claims a consumer gave up on. A record that fails its last receive goes to the queue's DLQ; its claim,
left where no consumer will move it again (and, if still RECEIVED, re-queued by the reconciler into the
same failure for ever), is handed to a person instead: NEEDS_ATTENTION, on the agent queue."""
from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.claim import ClaimStatus, utc_now
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.observability import logger
from chalicelib.services.ports import ClaimRepository, Telemetry

_ATTEMPTS = 3  # the claim may change under the mark (a late consumer): read it again and decide again


def mark_needs_attention(claims: ClaimRepository, telemetry: Telemetry, claim_id: str, *, stage: str,
                         error_class: str, stuck: frozenset[ClaimStatus], actor: str, clock=utc_now) -> bool:
    """Moves the claim to NEEDS_ATTENTION if it is still in one of the ``stuck`` statuses of the stage that
    gave up; True when it did. The timeline gets the stage and the error's class, never its message
    (which may quote personal data). Partners are not told: the claim is still being handled."""
    for _ in range(_ATTEMPTS):
        claim = claims.get(claim_id)
        if claim is None or claim.status not in stuck:
            return False
        after, event = claim.transition(ClaimStatus.NEEDS_ATTENTION, actor=actor, kind="claim.needs_attention",
                                        at=clock())
        event = replace(event, detail={"stage": stage, "error_class": error_class})
        try:
            claims.save(claim, after, [event])
        except ConcurrentUpdate:
            continue
        telemetry.count("ClaimsNeedingAttention", 1)
        logger.error("claim needs a person: its message failed every receive and goes to the DLQ",
                     extra={"claim_id": claim_id, "stage": stage, "error_class": error_class})
        return True
    raise ConcurrentUpdate("The claim kept changing; its record fails and goes to the DLQ.")
