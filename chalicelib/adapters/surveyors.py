"""Field surveyors in DynamoDB: who works in a region, and whether they take work. Assigning one to a
claim is part of the claim's transaction (``claims.DynamoClaimRepository.assign``)."""
from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamo import error_code, raise_if_throttled
from chalicelib.adapters.models import SurveyorModel
from chalicelib.domain.surveyor import Surveyor, SurveyorStatus


class DynamoSurveyorRepository:
    def set_status(self, surveyor_id: str, status: SurveyorStatus) -> bool:
        try:
            SurveyorModel(surveyor_id).update(actions=[SurveyorModel.status.set(status.value)],
                                              condition=SurveyorModel.surveyor_id.exists())
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise_if_throttled(exc)
            raise
        return True

    def in_region(self, region_code: str) -> list[Surveyor]:
        return [Surveyor(m.surveyor_id, m.region_code, SurveyorStatus(m.status), int(m.capacity),
                         int(m.active_claims or 0),
                         lat=float(m.lat) if m.lat is not None else None,
                         lon=float(m.lon) if m.lon is not None else None)
                for m in SurveyorModel.by_region.query(region_code)]
