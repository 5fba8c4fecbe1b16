"""What an agent may approve instead of the suggestion: the cover's limit caps an override, and paying
more than was claimed needs a reason from a fixed list. Pure: the decision service applies it."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from chalicelib.domain.errors import FieldProblem, Unprocessable, ValidationFailed

# Why an override may pay more than the claimant asked for; nothing else does.
OVERRIDE_REASON_CODES = (
    "survey_assessment",  # a surveyor assessed the loss higher
    "additional_damage_documented",  # more loss documented after the claim was made
    "claimant_understated",  # the claimant asked for less than the cover pays
    "statutory_requirement",  # a law, regulator or court sets the amount
)


@dataclass(frozen=True)
class OverrideCheck:
    """What the timeline keeps about an accepted override."""

    reason_code: str | None
    limit_exceeded: bool


def check_override(amount: Decimal, claimed: Decimal, limit: Decimal | None, *, reason_code: str | None,
                   exceeds_limit: bool, supervisor: bool) -> OverrideCheck:
    """Above the cover's limit: refused (422 naming the limit), unless a supervisor says so
    (``exceeds_limit``). Above the claimed amount (the limit included): a reason code from
    ``OVERRIDE_REASON_CODES`` is required. ``limit`` None (no product known): the claimed amount is
    the cap, as nothing says what the cover would pay."""
    if limit is None:
        if amount > claimed:
            raise Unprocessable("No cover limit is known for this claim; an override may not exceed the claimed "
                                "amount.", [FieldProblem("amount", f"at most the claimed amount, {claimed}")])
        return OverrideCheck(reason_code, False)
    over_limit = amount > limit
    if over_limit and not (supervisor and exceeds_limit):
        problem = f"exceeds the cover's limit of {limit}" + (
            "; say exceeds_limit: true to exceed it" if supervisor else "; only a supervisor may exceed it")
        raise Unprocessable("The override is above the cover's limit.", [FieldProblem("amount", problem)])
    if amount > claimed:
        if reason_code is None:
            raise ValidationFailed("The override is not complete.", [FieldProblem(
                "reason_code", f"required above the claimed amount: one of {', '.join(OVERRIDE_REASON_CODES)}")])
    if reason_code is not None and reason_code not in OVERRIDE_REASON_CODES:
        raise ValidationFailed("The override is not complete.", [FieldProblem(
            "reason_code", f"must be one of {', '.join(OVERRIDE_REASON_CODES)}")])
    return OverrideCheck(reason_code, over_limit)
