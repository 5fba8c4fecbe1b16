"""Chalice's CDK construct, and the one thing `chalice package` cannot do for this app.

`chalice package` (which the construct runs) refuses apps with ``@on_s3_event``: CloudFormation
cannot add a notification to a bucket that already exists. Here the bucket is created by the same
stack, so the stack wires the notification natively instead; while packaging, the S3 notification
each ``@on_s3_event`` declares is recorded (bucket, events, prefix, function) rather than rejected.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chalice import package as chalice_package
from chalice.cdk import Chalice
from chalice.utils import to_cfn_resource_name


@dataclass(frozen=True)
class S3Trigger:
    function: str  # the Chalice function name, e.g. "record_attachment"
    bucket: str
    events: tuple[str, ...]
    prefix: str | None
    suffix: str | None


@contextlib.contextmanager
def _recording_s3_notifications() -> Iterator[list[S3Trigger]]:
    triggers: list[S3Trigger] = []
    generator = chalice_package.SAMTemplateGenerator
    original = generator._generate_s3bucketnotification

    def record(self, resource, template) -> None:
        triggers.append(S3Trigger(resource.lambda_function.resource_name, resource.bucket,
                                  tuple(resource.events), resource.prefix, resource.suffix))

    # Chalice has no hook for this: its generator's method is swapped for the packaging, then restored.
    generator._generate_s3bucketnotification = record  # type: ignore[method-assign]  # see above
    try:
        yield triggers
    finally:
        generator._generate_s3bucketnotification = original  # type: ignore[method-assign]  # see above


@contextlib.contextmanager
def _workdir(path: Path) -> Iterator[None]:
    """The construct writes its `chalice.out` into the working directory: keep it out of the repo."""
    path.mkdir(parents=True, exist_ok=True)
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _region_for_packaging(region: str) -> Iterator[None]:
    """`chalice package` makes a botocore session and needs a region to name service principals;
    an offline synth has none configured. The template is region-agnostic either way."""
    saved = os.environ.get("AWS_DEFAULT_REGION")
    if not (saved or os.environ.get("AWS_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        if saved is None and os.environ.get("AWS_DEFAULT_REGION") == region and not os.environ.get("AWS_REGION"):
            os.environ.pop("AWS_DEFAULT_REGION", None)


class ChaliceApp:
    """The packaged app: the construct, its SAM template (as generated) and the S3 triggers."""

    # Every function gets its own role from the stack; this value is replaced on each function and
    # a test fails if any function still carries it.
    PLACEHOLDER_ROLE_ARN = "arn:aws:iam::000000000000:role/replaced-by-infra-cdk"

    def __init__(self, scope, construct_id: str, source_dir: Path, workdir: Path,
                 region_hint: str = "ap-southeast-1"):
        # No "log_retention_in_days" here: Chalice 1.34 then names the API handler's log group after
        # a resource that does not exist (${ApiHandler}, not APIHandler), which CfnInclude rejects.
        # The stack creates the log groups itself.
        stage_config = {
            "manage_iam_role": False,
            "iam_role_arn": self.PLACEHOLDER_ROLE_ARN,
        }
        with _workdir(workdir), _region_for_packaging(region_hint), _recording_s3_notifications() as triggers:
            self.construct = Chalice(scope, construct_id, source_dir=str(source_dir), stage_config=stage_config)
        self.s3_triggers: tuple[S3Trigger, ...] = tuple(triggers)
        sam_path = Path(self.construct._sam_package_dir) / "sam.json"
        self.sam: dict = json.loads(sam_path.read_text())
        self.deployment_zip = Path(self.construct._sam_package_dir) / "deployment.zip"

    def functions(self) -> dict[str, str]:
        """Logical id -> handler of every function in the packaged template."""
        return {logical_id: resource["Properties"]["Handler"]
                for logical_id, resource in self.sam["Resources"].items()
                if resource["Type"] == "AWS::Serverless::Function"}

    @staticmethod
    def logical_id(function: str) -> str:
        return "APIHandler" if function == "api_handler" else to_cfn_resource_name(function)

    def resource(self, logical_id: str):
        return self.construct.get_resource(logical_id)

    def sam_resource(self, logical_id: str) -> dict:
        return self.sam["Resources"][logical_id]
