"""Requests of the customer's own channel: the claim form and photo uploads."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib.domain.claim import Channel, ClaimSubmission, Location
from chalicelib.domain.errors import FieldProblem, MalformedBody, ValidationFailed
from chalicelib.schemas.claims import MAX_ATTACHMENTS_EXPECTED, LossType, Money, Phone, RegionCode, Text, problems_of
from chalicelib.schemas.dates import OffsetDateTime

# The form's free-text limits; the pages get them from the server (api/pages.py), never their own copy.
MAX_ADDRESS_CHARS = 500
MAX_DESCRIPTION_CHARS = 4000
MAX_NAME_CHARS = 100

SubmissionKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{8,64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PolicyCheckIn(_Strict):
    policy_number: Annotated[Text, StringConstraints(max_length=40)]
    phone: Phone


class PublicClaimIn(_Strict):
    """The form's claim: flat, as a page sends it; the policy number and phone prove the policy."""

    submission_key: SubmissionKey
    policy_number: Annotated[Text, StringConstraints(max_length=40)]
    phone: Phone
    loss_type: LossType
    occurred_at: OffsetDateTime
    region_code: RegionCode
    address: Annotated[Text, StringConstraints(max_length=MAX_ADDRESS_CHARS)] | None = None
    description: Annotated[Text, StringConstraints(max_length=MAX_DESCRIPTION_CHARS)]
    amount: Money
    claimant_name: Annotated[Text, StringConstraints(max_length=MAX_NAME_CHARS)] | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"
    # how many photos the customer picked: the form uploads them right after the claim is accepted
    attachments_expected: int | None = Field(default=None, ge=0, le=MAX_ATTACHMENTS_EXPECTED)

    def to_submission(self) -> ClaimSubmission:
        if Decimal(self.amount) <= 0:
            raise ValidationFailed("The claim is not valid.", [FieldProblem("amount", "must be greater than 0")])
        return ClaimSubmission(
            channel=Channel.WEB_FORM, loss_type=self.loss_type, occurred_at=self.occurred_at,
            description=self.description, location=Location(self.region_code, self.address),
            amount=Decimal(self.amount), currency="CNY", claimant_name=self.claimant_name,
            claimant_phone=self.phone, policy_number=self.policy_number,
            attachments_expected=self.attachments_expected or None)


class UploadRequestIn(_Strict):
    content_type: Annotated[str, StringConstraints(max_length=100)]
    size: int | None = Field(default=None, ge=0, le=2**40)
    filename: Annotated[str, StringConstraints(max_length=255)] | None = None


def parse(model: type[BaseModel], raw: bytes, what: str):
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise MalformedBody("The body is not valid JSON.") from None
        raise ValidationFailed(f"The {what} is not valid.", problems_of(exc)) from None
