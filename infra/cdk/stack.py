"""One stage of the claims intake service on AWS.

Tables come from the PynamoDB models (``tables.py``), queues from ``QUEUES``, the bucket and its
trigger from ``resources.py`` and the app's ``@on_s3_event``, the functions from Chalice's CDK
construct (``.chalice/config.json`` for memory, timeouts, reserved concurrency, X-Ray), each with
its own hand-written role (``access.py``), the API's gateway responses from ``infra/gateway_errors.py``,
and monitoring from ``monitoring.py``.

The construct ID of the stack is the Chalice stage name (the construct packages the stage named
after its scope); the CloudFormation stack is called ``claims-intake-<stage>``.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from aws_cdk import Annotations, ArnFormat, Aws, CfnOutput, Duration, Environment, RemovalPolicy, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.adapters.resources import (
    APP_NAME,
    ATTACHMENTS_BUCKET,
    DLQ_RETENTION_SECONDS,
    QUEUES,
    QueueSpec,
)
from chalicelib.domain.attachment import ATTACHMENTS_PREFIX
from infra.cdk.access import (
    CONSUME_ACTIONS,
    FUNCTIONS,
    LOG_ACTIONS,
    QUEUE_URL_ENV,
    SECRET_KEYS,
    XRAY_ACTIONS,
    FunctionAccess,
)
from infra.cdk.chalice_app import ChaliceApp
from infra.cdk.monitoring import Monitoring, WatchedFunction
from infra.cdk.stages import PROJECT_ROOT, StageSettings, chalice_config, settings_for, sqs_max_concurrency
from infra.cdk.tables import TableSpec, table_specs
from infra.gateway_errors import GATEWAY_ERRORS

PLACEHOLDER_PUBLIC_BASE_URL = "https://public-base-url.not-configured.invalid"
_KEY_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER,
              "B": dynamodb.AttributeType.BINARY}


@dataclass(frozen=True)
class DeploySettings:
    """Per deployment, from CDK context (``-c key=value``); see docs/deploying.md."""
    public_base_url: str = PLACEHOLDER_PUBLIC_BASE_URL
    alarm_email: str | None = None
    connect_instance_arn: str | None = None
    secret_name: str | None = None  # default: claims-intake/<stage>
    secrets_revision: str = "1"  # change it to make the functions pick up new secret values

    @classmethod
    def from_context(cls, node) -> DeploySettings:
        def get(key: str) -> str | None:
            value = node.try_get_context(key)
            return str(value) if value not in (None, "") else None
        return cls(public_base_url=get("public_base_url") or PLACEHOLDER_PUBLIC_BASE_URL,
                   alarm_email=get("alarm_email"), connect_instance_arn=get("connect_instance_arn"),
                   secret_name=get("secret_name"), secrets_revision=get("secrets_revision") or "1")


def function_name(stage: str, chalice_name: str) -> str:
    """Chalice's own naming: ``<app>-<stage>`` for the API handler, ``<app>-<stage>-<name>`` otherwise."""
    return f"{APP_NAME}-{stage}" if chalice_name == "api_handler" else f"{APP_NAME}-{stage}-{chalice_name}"


def short_name(spec: QueueSpec) -> str:
    return spec.name.removeprefix(f"{APP_NAME}-")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"public_base_url must be an http(s) URL, not {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))


def _dist_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


LAMBDA_UNZIPPED_LIMIT = 250 * 2**20  # a function's code and layers, unzipped


def unzipped_size(deployment_zip: Path) -> int:
    with zipfile.ZipFile(deployment_zip) as archive:
        return sum(info.file_size for info in archive.infolist())


def missing_distributions(deployment_zip: Path, requirements: Path) -> list[str]:
    """Requirements that did not make it into the deployment package. `chalice package` only warns
    when it finds no wheel for Lambda (manylinux, the runtime's glibc) and ships the package without."""
    if not requirements.exists():
        return []
    wanted = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            wanted.append(re.split(r"[\s\[<>=!~;]", line, maxsplit=1)[0])
    with zipfile.ZipFile(deployment_zip) as archive:
        present = {_dist_name(n.split("/", 1)[0].split("-", 1)[0]) for n in archive.namelist()
                   if n.split("/", 1)[0].endswith(".dist-info")}
    return [name for name in wanted if _dist_name(name) not in present]


def gateway_responses() -> dict:
    """The REST API's own answers (no route, throttled, too large, ...) in the contract's error shape, as
    SAM's GatewayResponses: SAM writes them into the API's definition, so a deployment carries them."""
    responses = {}
    for response_type, error in GATEWAY_ERRORS.items():
        headers = {"Content-Type": "application/json", **error.headers}
        response = {"ResponseParameters": {"Headers": {name: f"'{value}'" for name, value in headers.items()}},
                    "ResponseTemplates": {"application/json": error.body()}}
        if error.status is not None:
            response["StatusCode"] = str(error.status)
        responses[response_type] = response
    return responses


class ClaimsIntakeStack(Stack):
    def __init__(self, scope: Construct, stage: str, *, deploy: DeploySettings, workdir: Path,
                 source_dir: Path = PROJECT_ROOT, env: Environment | None = None):
        super().__init__(scope, stage, stack_name=f"{APP_NAME}-{stage}", env=env,
                         description=f"Claims intake ({stage}): API, pipeline, storage and monitoring")
        self.stage = stage
        self.settings: StageSettings = settings_for(stage)
        self.deploy = deploy
        self.prefix = f"{APP_NAME}-{stage}"
        Tags.of(self).add("app", APP_NAME)
        Tags.of(self).add("stage", stage)
        if deploy.public_base_url == PLACEHOLDER_PUBLIC_BASE_URL:
            Annotations.of(self).add_warning_v2(
                "claims-intake:public-base-url",
                "No public_base_url in context: PUBLIC_BASE_URL and the bucket's CORS origin are a placeholder. "
                "Deploy with -c public_base_url=https://<the API's public URL> (make deploy PUBLIC_BASE_URL=...).")
        retain = RemovalPolicy.RETAIN if self.settings.production else RemovalPolicy.DESTROY

        self.tables = {spec.name: self._table(spec, retain) for spec in table_specs()}
        self.dlqs: dict[str, sqs.Queue] = {}
        self.queues: dict[str, sqs.Queue] = {spec.name: self._make_queue(spec) for spec in QUEUES}
        self.bucket = self._bucket(retain)

        self.chalice = ChaliceApp(self, "ChaliceApp", source_dir=source_dir, workdir=workdir)
        self.package_problems = self._check_package(source_dir)
        self.functions: dict[str, str] = {}  # chalice name -> function name
        self.roles: dict[str, iam.Role] = {}
        self._configure_functions()
        self._wire_s3_triggers()
        self._allow_connect()

        api_stage = chalice_config()["stages"][stage].get("api_gateway_stage", "api")
        self.chalice.resource("RestAPI").add_property_override("Name", self.prefix)
        self.chalice.resource("RestAPI").add_property_override("GatewayResponses", gateway_responses())
        self.monitoring = Monitoring(
            self, "Monitoring", prefix=self.prefix,
            queues={short_name(s): self.queues[s.name] for s in QUEUES},
            dlqs={short_name(s): self.dlqs[s.name] for s in QUEUES},
            functions=[WatchedFunction(n, self.functions[n], FUNCTIONS[n].consumer) for n in self.functions],
            api_name=self.prefix, api_stage=api_stage, alarm_email=deploy.alarm_email)
        CfnOutput(self, "AttachmentsBucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "SecretName", value=self.secret_name)

    @property
    def secret_name(self) -> str:
        return self.deploy.secret_name or f"{APP_NAME}/{self.stage}"

    # -- storage ---------------------------------------------------------------------------------

    def _table(self, spec: TableSpec, removal: RemovalPolicy) -> dynamodb.Table:
        def attribute(key):
            return dynamodb.Attribute(name=key.name, type=_KEY_TYPES[key.type]) if key else None

        table = dynamodb.Table(
            self, f"{spec.model_name.removesuffix('Model')}Table",
            table_name=spec.name,
            partition_key=attribute(spec.partition_key),
            sort_key=attribute(spec.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=self.settings.production,
            removal_policy=removal,
        )
        for index in spec.global_indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=attribute(index.partition_key),
                sort_key=attribute(index.sort_key),
                projection_type=dynamodb.ProjectionType[index.projection_type],
                non_key_attributes=list(index.non_key_attributes) or None,
            )
        return table

    def _make_queue(self, spec: QueueSpec) -> sqs.Queue:
        dlq = sqs.Queue(self, f"{_camel(short_name(spec))}Dlq", queue_name=spec.dlq_name,
                        retention_period=Duration.seconds(DLQ_RETENTION_SECONDS),
                        encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True)
        self.dlqs[spec.name] = dlq
        return sqs.Queue(self, f"{_camel(short_name(spec))}Queue", queue_name=spec.name,
                         visibility_timeout=Duration.seconds(spec.visibility_timeout_seconds),
                         dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=dlq),
                         encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True)

    def _bucket(self, removal: RemovalPolicy) -> s3.Bucket:
        return s3.Bucket(
            self, "AttachmentsBucket",
            bucket_name=self.bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(id="photos-to-infrequent-access", prefix=ATTACHMENTS_PREFIX, transitions=[
                    s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                                  transition_after=Duration.days(90))]),
                s3.LifecycleRule(id="abort-incomplete-multipart-uploads",
                                 abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
            # The claim form's browser uploads photos straight to S3 (presigned POST), as in the local
            # stack (infra/provision.py create_bucket).
            cors=[s3.CorsRule(allowed_methods=[s3.HttpMethods.POST],
                              allowed_origins=[origin_of(self.deploy.public_base_url)],
                              allowed_headers=["*"], max_age=600)],
            removal_policy=removal,
        )

    @property
    def bucket_name(self) -> str:
        """Bucket names are global across AWS: the app's name for it, then the account and region.
        The functions get it as ATTACHMENTS_BUCKET (the local stack keeps the bare name)."""
        return f"{ATTACHMENTS_BUCKET}-{Aws.ACCOUNT_ID}-{Aws.REGION}"

    def _bucket_arn(self, suffix: str = "") -> str:
        # Built from the name, not a reference to the bucket: the bucket's notification refers to
        # the function, whose role must not refer back to the bucket (a dependency cycle).
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}{suffix}"

    def _check_package(self, source_dir: Path) -> list[str]:
        """What would make the deployed functions fail: error annotations, which stop `cdk deploy`."""
        problems = []
        missing = missing_distributions(self.chalice.deployment_zip, source_dir / "requirements.txt")
        if missing:
            problems.append(
                f"The deployment package lacks {', '.join(missing)}: `chalice package` found no wheel of them "
                f"for the Lambda runtime (python{_python_version()}, Amazon Linux glibc 2.26 up to python3.11). "
                f"Pin versions that publish manylinux2014 wheels, or vendor them (docs/deploying.md).")
        size = unzipped_size(self.chalice.deployment_zip)
        if size > LAMBDA_UNZIPPED_LIMIT:
            problems.append(f"The deployment package unzips to {size / 2**20:.0f} MiB; Lambda takes at most "
                            f"{LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MiB.")
        for problem in problems:
            Annotations.of(self).add_error(problem)
        return problems

    # -- functions -------------------------------------------------------------------------------

    def _configure_functions(self) -> None:
        by_logical_id = {ChaliceApp.logical_id(name): name for name in FUNCTIONS}
        packaged = self.chalice.functions()
        unknown = sorted(set(packaged) - set(by_logical_id))
        if unknown:
            raise ValueError(f"functions without an access declaration in infra/cdk/access.py: {unknown}")
        stale = sorted(set(by_logical_id) - set(packaged))
        if stale:
            raise ValueError(f"infra/cdk/access.py declares functions the app no longer has: "
                             f"{[by_logical_id[s] for s in stale]}")
        for logical_id in packaged:
            self._configure_function(logical_id, by_logical_id[logical_id])

    def _configure_function(self, logical_id: str, name: str) -> None:
        access = FUNCTIONS[name]
        fn_name = function_name(self.stage, name)
        self.functions[name] = fn_name
        resource = self.chalice.resource(logical_id)
        role = iam.Role(self, f"{logical_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description=f"{fn_name}: least privilege (infra/cdk/access.py)",
                        inline_policies={"least-privilege": iam.PolicyDocument(
                            statements=self._statements(fn_name, access))})
        self.roles[name] = role
        resource.add_property_override("FunctionName", fn_name)
        resource.add_property_override("Role", role.role_arn)

        # The log group exists before the function (else Lambda makes one without retention).
        log_group = logs.LogGroup(self, f"{logical_id}LogGroup", log_group_name=f"/aws/lambda/{fn_name}",
                                  retention=_retention(self.settings.log_retention_days),
                                  removal_policy=RemovalPolicy.DESTROY)
        resource.add_resource_dependency(log_group.node.default_child)

        for queue_name in access.queue_url_env:
            self.chalice.construct.add_environment_variable(QUEUE_URL_ENV[queue_name],
                                                            self._queue(queue_name).queue_url, logical_id)
        if access.s3_read or access.s3_presign_upload:
            self.chalice.construct.add_environment_variable("ATTACHMENTS_BUCKET", self.bucket_name, logical_id)
        if access.needs_public_base_url:
            self.chalice.construct.add_environment_variable("PUBLIC_BASE_URL", self.deploy.public_base_url,
                                                            logical_id)
        for key in access.secrets:
            assert key in SECRET_KEYS, key
            # A CloudFormation dynamic reference: resolved by CloudFormation at deploy time, never in
            # the template. Secrets Manager, because Lambda environments cannot take ssm-secure ones.
            self.chalice.construct.add_environment_variable(
                key, f"{{{{resolve:secretsmanager:{self.secret_name}:SecretString:{key}}}}}", logical_id)
        if access.secrets:
            self.chalice.construct.add_environment_variable("SECRETS_REVISION", self.deploy.secrets_revision,
                                                            logical_id)

        events = self.chalice.sam_resource(logical_id)["Properties"].get("Events", {})
        for event_id, event in events.items():
            if event["Type"] != "SQS":
                continue
            queue_name = event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[1]
            if queue_name != access.consume or queue_name not in self.queues:
                raise ValueError(f"{name} consumes {queue_name!r}, but infra/cdk/access.py says {access.consume!r}")
            path = f"Events.{event_id}.Properties"
            resource.add_property_override(f"{path}.Queue", self.queues[queue_name].queue_arn)
            # Chalice cannot switch partial batch responses on; the handlers answer batchItemFailures.
            resource.add_property_override(f"{path}.FunctionResponseTypes", ["ReportBatchItemFailures"])
            resource.add_property_override(f"{path}.ScalingConfig.MaximumConcurrency",
                                           sqs_max_concurrency(self.stage, name))
        if access.consume and not any(e["Type"] == "SQS" for e in events.values()):
            raise ValueError(f"{name} is declared to consume {access.consume} but has no SQS event source")

    def _statements(self, fn_name: str, access: FunctionAccess) -> list[iam.PolicyStatement]:
        statements = [
            iam.PolicyStatement(sid="OwnLogs", actions=list(LOG_ACTIONS), resources=[self.format_arn(
                service="logs", resource="log-group", resource_name=f"/aws/lambda/{fn_name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME)]),
            # X-Ray takes no resource-level permissions: "*" is what AWS requires here.
            iam.PolicyStatement(sid="XRayTraces", actions=list(XRAY_ACTIONS), resources=["*"]),
        ]
        for grant in access.tables:
            table = self.tables[grant.table]
            sid = _camel(grant.table.removeprefix(f"{APP_NAME}-"))
            if grant.actions:
                statements.append(iam.PolicyStatement(sid=f"Table{sid}", actions=list(grant.actions),
                                                      resources=[table.table_arn]))
            if grant.query_indexes:
                statements.append(iam.PolicyStatement(
                    sid=f"Indexes{sid}", actions=["dynamodb:Query"],
                    resources=[f"{table.table_arn}/index/{index}" for index in grant.query_indexes]))
        if access.send_to:
            statements.append(iam.PolicyStatement(sid="SendMessages", actions=["sqs:SendMessage"],
                                                  resources=[self._queue_arn(q) for q in access.send_to]))
        if access.queue_depth_of:
            statements.append(iam.PolicyStatement(sid="QueueDepth", actions=["sqs:GetQueueAttributes"],
                                                  resources=[self._queue_arn(q) for q in access.queue_depth_of]))
        if access.queue_url_lookups:
            statements.append(iam.PolicyStatement(sid="QueueUrlLookups", actions=["sqs:GetQueueUrl"],
                                                  resources=[self._queue_arn(q) for q in access.queue_url_lookups]))
        if access.consume:
            statements.append(iam.PolicyStatement(sid="ConsumeOwnQueue", actions=list(CONSUME_ACTIONS),
                                                  resources=[self.queues[access.consume].queue_arn]))
        if access.s3_read:
            statements.append(iam.PolicyStatement(sid="ReadPhotos", actions=["s3:GetObject"],
                                                  resources=[self._bucket_arn(f"/{ATTACHMENTS_PREFIX}*")]))
            statements.append(iam.PolicyStatement(
                sid="ListPhotoPrefix", actions=["s3:ListBucket"], resources=[self._bucket_arn()],
                conditions={"StringLike": {"s3:prefix": [f"{ATTACHMENTS_PREFIX}*"]}}))
        if access.s3_presign_upload:
            # The claimant's browser posts the photo with a policy this role signed (presigned POST).
            statements.append(iam.PolicyStatement(sid="PresignPhotoUploads", actions=["s3:PutObject"],
                                                  resources=[self._bucket_arn(f"/{ATTACHMENTS_PREFIX}*")]))
        return statements

    def _queue(self, name: str) -> sqs.Queue:
        for spec in QUEUES:
            if name == spec.name:
                return self.queues[name]
            if name == spec.dlq_name:
                return self.dlqs[spec.name]
        raise ValueError(f"unknown queue {name!r}")

    def _queue_arn(self, name: str) -> str:
        return self._queue(name).queue_arn

    # -- triggers and callers --------------------------------------------------------------------

    def _wire_s3_triggers(self) -> None:
        # an L2 bucket's default child is its CfnBucket (CDK's contract; the type says only IConstruct)
        cfn_bucket = cast(s3.CfnBucket, self.bucket.node.default_child)
        configurations = []
        for trigger in self.chalice.s3_triggers:
            if trigger.bucket != ATTACHMENTS_BUCKET:  # the app's name; deployed, the bucket is this stack's
                raise ValueError(f"{trigger.function} listens to {trigger.bucket}, not a bucket of this stack")
            logical_id = ChaliceApp.logical_id(trigger.function)
            function_arn = self.chalice.resource(logical_id).get_att("Arn").to_string()
            permission = lambda_.CfnPermission(
                self, f"{logical_id}S3Permission", action="lambda:InvokeFunction", function_name=function_arn,
                principal="s3.amazonaws.com", source_account=Aws.ACCOUNT_ID, source_arn=self._bucket_arn())
            cfn_bucket.add_resource_dependency(permission)  # S3 checks it may invoke the function
            rules = [{"Name": "prefix", "Value": trigger.prefix}] if trigger.prefix else []
            rules += [{"Name": "suffix", "Value": trigger.suffix}] if trigger.suffix else []
            for event in trigger.events:
                configuration = {"Event": event, "Function": function_arn}
                if rules:
                    configuration["Filter"] = {"S3Key": {"Rules": rules}}
                configurations.append(configuration)
        if configurations:
            cfn_bucket.add_property_override("NotificationConfiguration.LambdaConfigurations", configurations)

    def _allow_connect(self) -> None:
        for name, access in FUNCTIONS.items():
            if not access.invoked_by_connect:
                continue
            logical_id = ChaliceApp.logical_id(name)
            lambda_.CfnPermission(
                self, f"{logical_id}ConnectPermission", action="lambda:InvokeFunction",
                function_name=self.chalice.resource(logical_id).get_att("Arn").to_string(),
                principal="connect.amazonaws.com", source_account=Aws.ACCOUNT_ID,
                source_arn=self.deploy.connect_instance_arn)


_RETENTION = {7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH", 90: "THREE_MONTHS", 180: "SIX_MONTHS",
              365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 731: "TWO_YEARS"}


def _retention(days: int) -> logs.RetentionDays:
    if days not in _RETENTION:
        raise ValueError(f"log retention of {days} days: use one of {sorted(_RETENTION)}")
    return getattr(logs.RetentionDays, _RETENTION[days])


def _python_version() -> str:
    import sys
    return f"{sys.version_info.major}.{sys.version_info.minor}"
