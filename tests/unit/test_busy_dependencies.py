"""One reading of "AWS is busy or failing on its side": what the repositories turn into TemporarilyUnavailable
is what the API answers 503 for, code by code."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from chalicelib.adapters.models import SurveyorModel
from chalicelib.adapters.surveyors import DynamoSurveyorRepository
from chalicelib.api.http import dependency_unavailable
from chalicelib.domain.errors import TemporarilyUnavailable
from chalicelib.domain.surveyor import SurveyorStatus


def refused(code: str, status: int) -> UpdateError:
    """What PynamoDB raises when DynamoDB answers an UpdateItem with ``code`` (botocore's retries spent)."""
    cause = ClientError({"Error": {"Code": code, "Message": "refused"},
                         "ResponseMetadata": {"HTTPStatusCode": status}}, "UpdateItem")
    try:
        raise cause
    except ClientError as exc:
        try:
            raise UpdateError("Failed to update item", exc)
        except UpdateError as wrapped:
            return wrapped


def surveyor_update_answered(monkeypatch, error: Exception) -> None:
    def update(self, *args, **kwargs):
        raise error
    monkeypatch.setattr(SurveyorModel, "update", update)


BUSY = [
    ("ProvisionedThroughputExceededException", 400),
    ("ThrottlingException", 400),
    ("Throttling", 400),
    ("ThrottledException", 400),
    ("RequestLimitExceeded", 400),
    ("TooManyRequestsException", 429),
    ("InternalServerError", 500),
    ("InternalFailure", 500),
    ("ServiceUnavailable", 503),
    ("ServiceUnavailableException", 503),
    ("SomethingNewOnTheServerSide", 502),
]


@pytest.mark.parametrize("code, status", BUSY)
def test_a_store_call_refused_for_load_or_a_server_fault_is_temporarily_unavailable(monkeypatch, code, status):
    # GIVEN DynamoDB answering a surveyor's status change with a load or server-side error
    surveyor_update_answered(monkeypatch, refused(code, status))

    # WHEN the repository changes the status
    # THEN the caller is told to retry later, as the API would answer the same error
    with pytest.raises(TemporarilyUnavailable):
        DynamoSurveyorRepository().set_status("SV-1", SurveyorStatus.AVAILABLE)
    assert dependency_unavailable(refused(code, status)) is not None


@pytest.mark.parametrize("code", ["ValidationException", "AccessDeniedException", "ResourceNotFoundException"])
def test_a_request_refused_for_what_it_asks_is_neither_busy_nor_a_503(monkeypatch, code):
    # GIVEN DynamoDB refusing a status change for the request itself, not for load
    error = refused(code, 400)
    surveyor_update_answered(monkeypatch, error)

    # WHEN the repository changes the status
    # THEN the store's own error stands (a 500 at the API), not a "retry later"
    with pytest.raises(UpdateError):
        DynamoSurveyorRepository().set_status("SV-1", SurveyorStatus.AVAILABLE)
    assert dependency_unavailable(error) is None


def test_a_failed_condition_is_an_answer_not_an_outage(monkeypatch):
    # GIVEN no such surveyor: DynamoDB's condition fails
    surveyor_update_answered(monkeypatch, refused("ConditionalCheckFailedException", 400))

    # WHEN the repository changes the status
    # THEN it answers False
    assert DynamoSurveyorRepository().set_status("SV-404", SurveyorStatus.AVAILABLE) is False
