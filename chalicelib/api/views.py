"""Outward views of a claim. Personal data is masked: a partner already has it, logs never do."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.domain import outcome
from chalicelib.domain.caller import ScreenPop
from chalicelib.domain.claim import Claim, ClaimEvent, iso, utc_now


def mask_phone(phone: str | None) -> str | None:
    """The way Chinese apps show a number: its head and last four digits, at least four masked between
    (``+8613800138000`` -> ``+86138****8000``, ``13800138000`` -> ``138****8000``). Enough for a
    partner to tell which of a customer's numbers it was; never the whole number. Anything too short
    to mask that way keeps only its last two digits."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    plus = "+" if phone.strip().startswith("+") else ""
    if len(digits) < 8:
        return plus + "*" * max(0, len(digits) - 2) + digits[-2:]
    head = min(5, len(digits) - 8)  # country code and mobile prefix; at most 5 digits
    return plus + digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """First character, then one ``*`` per other character: ``张三`` -> ``张*``."""
    if not name:
        return None
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1)


def customer_view(claim: Claim, events: list[ClaimEvent]) -> dict:
    """What the customer is told (the status page, and partners to pass on): the reason of a decision
    and the state of a survey in plain words, both languages. See domain/outcome.py."""
    # pydantic-settings takes tens of ms to import: paid by the first call, not the import (bench.cold_start)
    from chalicelib.settings import get_settings

    assign_within = timedelta(seconds=get_settings().dispatch_escalate_after_seconds)
    return {"outcome": outcome.outcome(claim), "survey": outcome.survey(claim, events, assign_within, utc_now())}


def claim_view(claim: Claim, events: list[ClaimEvent]) -> dict:
    sub = claim.submission
    return {
        "claim_id": claim.claim_id,
        "status": claim.status.value,
        "channel": sub.channel.value,
        "external_ref": sub.external_ref,
        "received_at": iso(claim.received_at),
        "updated_at": iso(claim.updated_at),
        "version": claim.version,
        "policy": {"number": sub.policy_number, "order_id": sub.order_id},
        "claimant": {"name": mask_name(sub.claimant_name), "phone": mask_phone(sub.claimant_phone)},
        "loss": {"type": sub.loss_type, "occurred_at": sub.occurred_at.isoformat(),
                 "region_code": sub.location.region_code},
        "amount": {"value": str(sub.amount), "currency": sub.currency},
        "segment": claim.segment.value if claim.segment else None,
        "score": claim.score,
        "surveyor_id": claim.surveyor_id,
        "resolution": {"outcome": claim.resolution, "matched_by": claim.matched_by,
                       "policy_number": claim.policy_number, "product": claim.product,
                       "candidates": list(claim.candidates)} if claim.resolution else None,
        "coverage": {"covered": claim.covered, "reasons": list(claim.coverage_reasons),
                     "suggested_payable": None if claim.payable is None else str(claim.payable)}
        if claim.covered is not None else None,
        "decision": None if claim.decision is None else {
            "decision": claim.decision,
            "approved_amount": None if claim.approved_amount is None else str(claim.approved_amount)},
        "timeline": [{"seq": ev.seq, "at": iso(ev.at), "status": ev.status.value, "kind": ev.kind,
                      "actor": ev.actor} for ev in events],
        **customer_view(claim, events),
        "links": {"self": f"/v1/claims/{claim.claim_id}"},
    }


def triage_view(claim: Claim) -> dict:
    """What an agent weighs: lane, score and every reason behind it, the suggestion, the version."""
    return {
        "claim_id": claim.claim_id,
        "version": claim.version,
        "status": claim.status.value,
        "channel": claim.submission.channel.value,
        "loss_type": claim.submission.loss_type,
        "received_at": iso(claim.received_at),
        "amount": {"value": str(claim.submission.amount), "currency": claim.submission.currency},
        "segment": claim.segment.value if claim.segment else None,
        "priority": claim.priority,
        "score": claim.score,
        "rules_version": claim.rules_version,
        "reasons": list(claim.score_detail),
        "policy_number": claim.policy_number,
        "resolution": claim.resolution,
        "covered": claim.covered,
        "suggested_payout": None if claim.payable is None or not claim.covered else str(claim.payable),
        "escalated": claim.escalated,
        "reused_photo_claims": list(claim.reused_photo_claims),
        "hold": claim.hold,
        "hold_reason": claim.hold_reason,
    }


def agent_claim_view(claim: Claim, events: list[ClaimEvent]) -> dict:
    view = claim_view(claim, events)
    view["triage"] = triage_view(claim)
    view["decision"] = None if claim.decision is None else {
        "decision": claim.decision, "decided_by": claim.decided_by, "reason": claim.decision_reason,
        "reason_code": claim.reason_code,
        "approved_amount": None if claim.approved_amount is None else str(claim.approved_amount)}
    view["survey"] = None if claim.assessed_by is None else {
        "assessed_amount": None if claim.assessed_amount is None else str(claim.assessed_amount),
        "notes": claim.survey_notes, "assessed_by": claim.assessed_by,
        "assessed_at": iso(claim.assessed_at) if claim.assessed_at else None}
    # agents see what each step recorded (reasons, photo signals, the survey, override codes and limits)
    view["timeline"] = [{**entry, "detail": ev.detail or {}}
                        for entry, ev in zip(view["timeline"], events, strict=True)]
    view["links"] = {"self": f"/v1/agent/claims/{claim.claim_id}",
                     "decision": f"/v1/agent/claims/{claim.claim_id}/decision"}
    return view


def mask_id_number(id_number: str | None) -> str | None:
    """First 3 and last 2 characters of an ID number: enough to confirm with the caller, not to misuse."""
    if not id_number:
        return None
    return id_number[:3] + "*" * max(0, len(id_number) - 5) + id_number[-2:]


def screen_pop_view(pop: ScreenPop) -> dict:
    customer = pop.customer
    return {
        "phone": pop.phone,
        "customer": None if customer is None else {
            "customer_id": customer.customer_id, "name": customer.name, "language": customer.language,
            "id_number": mask_id_number(customer.id_number)},
        "policies": [{"policy_number": p.policy_number, "product": p.product, "status": p.status,
                      "starts_on": p.starts_on.isoformat(), "ends_on": p.ends_on.isoformat(), "plate": p.plate,
                      "partner_id": p.partner_id} for p in pop.policies],
        "open_claims": [{"claim_id": c.claim_id, "status": c.status, "channel": c.channel, "loss_type": c.loss_type,
                         "received_at": c.received_at, "policy_number": c.policy_number} for c in pop.open_claims],
        "contacts": [{"at": iso(c.at), "channel": c.channel, "kind": c.kind, "contact_id": c.contact_id,
                      "claim_id": c.claim_id} for c in pop.contacts],
    }
