"""Composition root: builds the real adapters and services once per container, lazily.

Handlers ask ``container()`` for the service they need. Tests call ``use(...)`` with fakes, or
``reset()`` to rebuild from the environment (for example inside ``mock_aws``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.domain.attachment import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES
from chalicelib.domain.products import catalogue
from chalicelib.observability import Telemetry
from chalicelib.services.attachments import AttachmentService
from chalicelib.services.auth import AgentAuthenticator, PartnerAuthenticator, PartnerRateLimiter
from chalicelib.services.callers import CallerService, PhoneIntake
from chalicelib.services.claim_form import ClaimFormService, FormLimits
from chalicelib.services.decisions import DecisionService
from chalicelib.services.dispatch import DispatchService
from chalicelib.services.intake import IntakeService
from chalicelib.services.partner_notices import NotificationService, QueueNotifier
from chalicelib.services.ports import (
    AttachmentIndex,
    AttachmentStore,
    CallbackSender,
    CallerDirectory,
    ClaimHistory,
    ClaimQueue,
    ClaimRepository,
    ContactLog,
    ContactStore,
    DeliveryLog,
    PartnerCallbacks,
    PartnerDirectory,
    PolicyDirectory,
    RateLimiter,
    ReviewQueue,
    SurveyorRepository,
)
from chalicelib.services.reconcile import Reconciler
from chalicelib.services.resolve import PolicyResolver
from chalicelib.services.surveyors import SurveyorService

if TYPE_CHECKING:
    from chalicelib.services.scoring import ScoringService
    from chalicelib.settings import Settings


@dataclass
class Container:
    settings: Settings
    claims: ClaimRepository
    surveyors: SurveyorRepository
    partners: PartnerDirectory
    queue: ClaimQueue
    policies: PolicyDirectory
    caller_directory: CallerDirectory
    contact_log: ContactLog
    contact_store: ContactStore
    rate_limiter: RateLimiter
    attachment_store: AttachmentStore
    attachment_index: AttachmentIndex
    history: ClaimHistory
    review: ReviewQueue
    partner_callbacks: PartnerCallbacks
    delivery_log: DeliveryLog
    callback_sender: CallbackSender
    telemetry: Telemetry = field(default_factory=Telemetry)

    @cached_property
    def scoring(self) -> ScoringService:
        """Built on first use: only the scoring consumer needs the scoring rules, whose module costs
        ~12 ms of every other function's cold start."""
        from chalicelib.services.scoring import ScoringService

        return ScoringService(self.claims, self.queue, self.telemetry, PolicyResolver(self.policies, catalogue()),
                              catalogue(), history=self.history, notifier=self.notifier)

    def __post_init__(self) -> None:
        s = self.settings
        self.intake = IntakeService(self.claims, self.queue, self.telemetry)
        self.auth = PartnerAuthenticator(self.partners, s.api_key_cache_seconds, limiter=PartnerRateLimiter(
            s.partner_rate_limit_per_second, s.partner_rate_burst))
        self.notifier = QueueNotifier(self.queue, self.telemetry)
        self.dispatch = DispatchService(self.claims, self.surveyors, self.queue, self.telemetry,
                                        retry_base_seconds=s.dispatch_retry_base_seconds,
                                        escalate_after_seconds=s.dispatch_escalate_after_seconds,
                                        notifier=self.notifier)
        self.reconciler = Reconciler(self.claims, self.queue, self.telemetry, s.reconcile_after_seconds)
        self.callers = CallerService(self.policies, self.caller_directory, self.contact_log, self.contact_store,
                                     self.telemetry)
        self.phone_intake = PhoneIntake(self.intake, self.callers)
        self.agents = AgentAuthenticator(s.agent_tokens)
        secret = s.status_token_secret.get_secret_value().encode() if s.status_token_secret else None
        self.claim_form = ClaimFormService(
            self.policies, self.rate_limiter, self.intake, self.claims, catalogue(), secret, s.status_token_days,
            FormLimits(s.form_limit_per_phone, s.form_limit_per_address, s.form_limit_window_seconds), self.telemetry)
        self.decisions = DecisionService(self.claims, self.review, self.notifier, self.telemetry,
                                         products=catalogue())
        self.surveyor_work = SurveyorService(self.claims, self.surveyors, self.notifier, self.telemetry,
                                             products=catalogue())
        self.surveyor_auth = AgentAuthenticator(s.surveyor_tokens, "A surveyor bearer token is required.")
        self.notifications = NotificationService(
            self.claims, self.partner_callbacks, self.delivery_log, self.callback_sender, self.queue,
            {partner: secret.get_secret_value() for partner, secret in s.partner_callback_secrets}, self.telemetry)
        self.attachments = AttachmentService(self.claims, self.attachment_store, self.attachment_index, self.telemetry,
                                             ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES, queue=self.queue,
                                             notifier=self.notifier)


def build_aws(settings: Settings) -> Container:
    import boto3
    from botocore.config import Config

    from chalicelib.adapters import dynamo
    from chalicelib.adapters.attachments import DynamoAttachmentIndex, S3AttachmentStore
    from chalicelib.adapters.callers import DynamoCallerDirectory, DynamoContactStore
    from chalicelib.adapters.claim_indexes import DynamoClaimHistory, DynamoReviewQueue
    from chalicelib.adapters.claims import DynamoClaimRepository
    from chalicelib.adapters.partner_notices import DynamoDeliveryLog, DynamoPartnerCallbacks, UrllibSender
    from chalicelib.adapters.partners import DynamoPartnerDirectory
    from chalicelib.adapters.policies import DynamoPolicyDirectory
    from chalicelib.adapters.rate_limiter import DynamoRateLimiter
    from chalicelib.adapters.sqs import SqsClaimQueue, SqsContactLog
    from chalicelib.adapters.surveyors import DynamoSurveyorRepository

    dynamo.configure(settings.aws_region, settings.aws_connect_timeout_seconds,
                     settings.aws_read_timeout_seconds, settings.aws_max_attempts)
    config = Config(connect_timeout=settings.aws_connect_timeout_seconds,
                    read_timeout=settings.aws_read_timeout_seconds,
                    # total_max_attempts counts the first attempt, as PynamoDB's setting does for DynamoDB
                    # (botocore's "max_attempts" would be one more).
                    retries={"mode": "standard", "total_max_attempts": settings.aws_max_attempts},
                    max_pool_connections=50)
    sqs = boto3.client("sqs", region_name=settings.aws_region, config=config)
    # Built on first use: only the photo routes and the attachment function need S3 (~70 ms of a cold
    # start otherwise). Path-style URLs when an endpoint is set (moto has no per-bucket host names).
    s3_config = config.merge(Config(signature_version="s3v4",
                                    s3={"addressing_style": "path" if settings.aws_endpoint_url else "virtual"}))

    def s3():
        return boto3.client("s3", region_name=settings.aws_region, config=s3_config)
    claims = DynamoClaimRepository()
    dynamo.share_client(claims.connection())
    return Container(
        settings=settings,
        claims=claims,
        surveyors=DynamoSurveyorRepository(),
        partners=DynamoPartnerDirectory(),
        queue=SqsClaimQueue(sqs, settings.scoring_queue_url, settings.dispatch_queue_url, settings.notify_queue_url,
                            settings.notify_dlq_url),
        policies=DynamoPolicyDirectory(),
        caller_directory=DynamoCallerDirectory(),
        contact_log=SqsContactLog(sqs, settings.contacts_queue_url),
        contact_store=DynamoContactStore(),
        rate_limiter=DynamoRateLimiter(claims.connection),
        attachment_store=S3AttachmentStore(s3, settings.attachments_bucket),
        attachment_index=DynamoAttachmentIndex(claims.connection),
        history=DynamoClaimHistory(),
        review=DynamoReviewQueue(),
        partner_callbacks=DynamoPartnerCallbacks(),
        delivery_log=DynamoDeliveryLog(),
        callback_sender=UrllibSender(),
    )


_lock = threading.Lock()
_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                # pydantic-settings takes tens of ms to import: paid by the first call, not the import
                # (bench.cold_start)
                from chalicelib.settings import get_settings

                _container = build_aws(get_settings())
    return _container


def use(replacement: Container) -> None:
    global _container
    _container = replacement


def reset() -> None:
    global _container
    from chalicelib.settings import get_settings

    get_settings.cache_clear()
    _container = None
