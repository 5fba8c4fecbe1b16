"""Read by the type checker only (``make lint`` runs mypy over this file): each fake of tests/fakes.py
is declared as the port it stands for, so mypy verifies its methods against the Protocols of
chalicelib/services/ports.py, as it verifies the real adapters where bootstrap.py builds the container.
tests/unit/test_module_map.py checks that every port is declared here or in the container."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.services import ports
    from chalicelib.services.partner_notices import QueueNotifier
    from tests import fakes

    def fakes_stand_for_their_ports() -> None:
        claims: ports.ClaimRepository = fakes.FakeClaimRepository()
        surveyors: ports.SurveyorRepository = fakes.FakeSurveyorRepository()
        partners: ports.PartnerDirectory = fakes.FakePartnerDirectory()
        queue: ports.ClaimQueue = fakes.FakeClaimQueue()
        telemetry: ports.Telemetry = fakes.FakeTelemetry()
        policies: ports.PolicyDirectory = fakes.FakePolicyDirectory()
        callers: ports.CallerDirectory = fakes.FakeCallerDirectory()
        contacts: ports.ContactLog = fakes.FakeContactLog(fakes.FakeCallerDirectory())
        # the services' side of partner notices, over the fake queue (no fake of its own)
        notifier: ports.Notifier = QueueNotifier(fakes.FakeClaimQueue(), fakes.FakeTelemetry())
        del claims, surveyors, partners, queue, telemetry, policies, callers, contacts, notifier
