"""What the customer (and the claim's partner) is told about where a claim stands: the reason for a
decision and the state of its survey, in plain words in both languages.

Never the agent's own note (it may be internal), scores, rule ids or priorities: only a reason code
from the fixed list below and the texts that go with it. No code accuses the customer of fraud; a
claim an investigation turns down is given the reason that applies (not covered, evidence, ...).
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.claim import Claim, ClaimEvent, ClaimStatus, iso

ZH_CN = "zh-CN"
EN = "en"
CUSTOMER_TIMEZONE = ZoneInfo("Asia/Shanghai")  # the times in a message are Beijing time, as the status page's


class RejectionReason(str, enum.Enum):
    NOT_COVERED = "not_covered"
    POLICY_NOT_IN_FORCE = "policy_not_in_force"
    EXCLUDED_LOSS = "excluded_loss"
    DUPLICATE_CLAIM = "duplicate_claim"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    CLAIM_WITHDRAWN = "claim_withdrawn"


REJECTION_REASONS = tuple(reason.value for reason in RejectionReason)

_REJECTED: dict[str | None, dict[str, str]] = {
    RejectionReason.NOT_COVERED.value: {
        ZH_CN: "很抱歉，这次损失不在您保单的保障范围内，因此未能赔付。",
        EN: "We are sorry: this loss is not covered by your policy, so we cannot pay this claim.",
    },
    RejectionReason.POLICY_NOT_IN_FORCE.value: {
        ZH_CN: "很抱歉，损失发生时您的保单不在保障期内，因此未能赔付。",
        EN: "We are sorry: your policy was not in force when the loss happened, so we cannot pay this claim.",
    },
    RejectionReason.EXCLUDED_LOSS.value: {
        ZH_CN: "很抱歉，您的保单条款明确不保这类损失，因此未能赔付。",
        EN: "We are sorry: your policy's terms exclude this kind of loss, so we cannot pay this claim.",
    },
    RejectionReason.DUPLICATE_CLAIM.value: {
        ZH_CN: "这次损失已经有一件理赔在处理或已处理，因此本次申请不再单独处理。",
        EN: "This loss is already covered by another claim of yours, so this one will not be handled separately.",
    },
    RejectionReason.INSUFFICIENT_EVIDENCE.value: {
        ZH_CN: "很抱歉，我们没有足够的材料确认这次损失，因此暂时未能赔付。如有更多材料，请联系客服。",
        EN: "We are sorry: we do not have enough evidence of this loss to pay the claim. "
            "If you have more, please contact customer service.",
    },
    RejectionReason.CLAIM_WITHDRAWN.value: {
        ZH_CN: "这件理赔已按您的要求撤回。",
        EN: "This claim was withdrawn, as you asked.",
    },
    None: {  # a rejection without a reason code (decided before codes existed, or none given)
        ZH_CN: "很抱歉，您的理赔未获批准。如需了解原因，请联系客服并报出理赔编号。",
        EN: "We are sorry: your claim was not approved. To find out why, contact customer service "
            "and quote your claim reference.",
    },
}
_APPROVED = {
    ZH_CN: "您的理赔已获批准，赔款会支付给您。",
    EN: "Your claim has been approved and the payment is on its way to you.",
}
_FINDING_SURVEYOR = {
    ZH_CN: "您的理赔需要查勘员查看损失，我们正在为您安排，预计在{by}（北京时间）前安排好。",
    EN: "A surveyor needs to see the damage. We are finding one for you and expect to have one assigned "
        "by {by} (Beijing time).",
}
_FINDING_SURVEYOR_LATE = {
    ZH_CN: "安排查勘员的时间比预期长，理赔专员正在跟进，安排好后会在这里更新。",
    EN: "Finding a surveyor is taking longer than expected. A claims handler is following it up; "
        "we will update this page as soon as one is assigned.",
}
_SURVEYOR_ASSIGNED = {
    ZH_CN: "已为您安排查勘员，查勘员会打电话与您约定查看损失的时间。",
    EN: "A surveyor has been assigned and will call you to agree a time to see the damage.",
}

_DECIDED = {ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.CLOSED}
_WAITING = {ClaimStatus.AWAITING_SURVEYOR, ClaimStatus.WAITING_FOR_SURVEYOR}
_APPROVING = {"accept", "override", "auto_approve"}


def rejection_message(reason_code: str | None) -> dict[str, str]:
    """The customer's words for a rejection: its code's, or the generic ones for no or an unknown code."""
    return dict(_REJECTED.get(reason_code, _REJECTED[None]))


def outcome(claim: Claim) -> dict | None:
    """``{"result", "reason_code", "message"}`` once the claim is decided (approved, rejected, or closed
    after either); None before."""
    if claim.status not in _DECIDED or claim.decision is None:
        return None
    if claim.status is ClaimStatus.REJECTED or claim.decision == "reject":
        code = claim.reason_code if claim.reason_code in REJECTION_REASONS else None
        return {"result": "rejected", "reason_code": code, "message": rejection_message(code)}
    if claim.decision in _APPROVING:
        return {"result": "approved", "reason_code": None, "message": dict(_APPROVED)}
    return None


def waiting_since(claim: Claim, events: list[ClaimEvent]) -> datetime:
    """When the claim started its current wait for a surveyor: the first timeline entry of the run of
    AWAITING_SURVEYOR / WAITING_FOR_SURVEYOR entries that ends with the claim's status (a surveyor who
    was assigned and released starts a new wait). Without a timeline: its last change."""
    since = None
    for event in events:
        if event.status in _WAITING:
            since = since or event.at
        else:
            since = None
    return since or claim.updated_at


def survey(claim: Claim, events: list[ClaimEvent], assign_within: timedelta, now: datetime) -> dict | None:
    """``{"state", "expected_by", "message"}`` while a surveyor is being found or is assigned; None
    otherwise. One is expected within ``assign_within`` (the dispatch SLA, DISPATCH_ESCALATE_AFTER_SECONDS,
    past which an agent is asked to help) of the start of the wait; past that, the message says it is
    taking longer and no time is promised."""
    if claim.status is ClaimStatus.SURVEYOR_ASSIGNED:
        return {"state": "surveyor_assigned", "expected_by": None, "message": dict(_SURVEYOR_ASSIGNED)}
    if claim.status not in _WAITING:
        return None
    expected_by = waiting_since(claim, events) + assign_within
    if claim.escalated or now >= expected_by:
        return {"state": "finding_surveyor", "expected_by": None, "message": dict(_FINDING_SURVEYOR_LATE)}
    local = expected_by.astimezone(CUSTOMER_TIMEZONE)
    by = {ZH_CN: f"{local.month}月{local.day}日 {local:%H:%M}", EN: f"{local:%H:%M} on {local.day} {local:%b}"}
    return {"state": "finding_surveyor", "expected_by": iso(expected_by),
            "message": {lang: text.format(by=by[lang]) for lang, text in _FINDING_SURVEYOR.items()}}
