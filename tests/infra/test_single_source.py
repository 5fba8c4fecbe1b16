"""One source of truth: the PynamoDB models and chalicelib.adapters.resources define every table,
index, queue and the bucket; the CDK stack (every stage) and the local moto stack (infra/provision.py)
must both build exactly that. A drift anywhere fails here."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.models import ALL_MODELS
from chalicelib.adapters.resources import (
    ATTACHMENTS_BUCKET,
    DLQ_RETENTION_SECONDS,
    LOCAL_ATTACHMENT_EVENTS_QUEUE,
    QUEUES,
)
from chalicelib.domain.attachment import ATTACHMENTS_PREFIX
from infra import provision
from infra.cdk.stages import chalice_stages
from tests.infra.cfn import by_property, getatt_target, props, resources

STAGES = chalice_stages()
SQS_DEFAULT_RETENTION = 345600  # 4 days: what SQS keeps when a queue does not say


# -- the shape of a table, however it was described ------------------------------------------------

def _keys(key_schema: list[dict]) -> tuple:
    return tuple(sorted((k["AttributeName"], k["KeyType"]) for k in key_schema))


def _projection(projection: dict) -> tuple:
    return projection["ProjectionType"], tuple(sorted(projection.get("NonKeyAttributes", [])))


def _shape(attribute_definitions, key_schema, gsis, billing_mode, ttl_attribute) -> dict:
    return {
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in attribute_definitions),
        "keys": _keys(key_schema),
        "indexes": {g["IndexName"]: (_keys(g["KeySchema"]), _projection(g["Projection"])) for g in gsis or []},
        "billing": billing_mode,
        "ttl": ttl_attribute,
    }


def model_shape(model) -> dict:
    schema = model._get_schema()
    gsis = [{"IndexName": g["index_name"], "KeySchema": g["key_schema"], "Projection": g["projection"]}
            for g in schema.get("global_secondary_indexes", [])]
    ttl = model._ttl_attribute()
    return _shape(schema["attribute_definitions"], schema["key_schema"], gsis,
                  model.Meta.billing_mode, ttl.attr_name if ttl else None)


def template_shape(table: dict) -> dict:
    ttl = table.get("TimeToLiveSpecification", {})
    return _shape(table["AttributeDefinitions"], table["KeySchema"], table.get("GlobalSecondaryIndexes"),
                  table["BillingMode"], ttl.get("AttributeName") if ttl.get("Enabled") else None)


def moto_shape(dynamodb, table_name: str) -> dict:
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    return _shape(table["AttributeDefinitions"], table["KeySchema"], table.get("GlobalSecondaryIndexes"),
                  table["BillingModeSummary"]["BillingMode"],
                  ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None)


@pytest.fixture(scope="module")
def local_stack():
    """The local stack's resources, created by infra/provision.py in moto, described back."""
    with mock_aws():
        for model in ALL_MODELS:
            model._connection = None  # a connection made before (another test) belongs to another mock
        sqs, s3 = boto3.client("sqs"), boto3.client("s3")
        dynamodb = boto3.client("dynamodb")
        provision.create_tables()
        provision.create_queues(sqs)
        provision.create_bucket(s3, s3.meta.region_name, ["https://claims.example.com"])
        provision.notify_queue_of_uploads(s3, sqs)
        tables = {model.Meta.table_name: moto_shape(dynamodb, model.Meta.table_name) for model in ALL_MODELS}
        queues = {}
        for url in sqs.list_queues()["QueueUrls"]:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            queues[url.rsplit("/", 1)[1]] = attributes
        cors = s3.get_bucket_cors(Bucket=ATTACHMENTS_BUCKET)["CORSRules"]
        notification = s3.get_bucket_notification_configuration(Bucket=ATTACHMENTS_BUCKET)
        for model in ALL_MODELS:
            model._connection = None
        yield {"tables": tables, "queues": queues, "cors": cors, "notification": notification}


# -- tables ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_the_stack_has_exactly_the_models_tables(synth, stage):
    # GIVEN the models and the synthesized stack
    tables = by_property(synth.templates[stage], "AWS::DynamoDB::Table", "TableName")

    # THEN it has one table per model, and no other
    assert sorted(tables) == sorted(model.Meta.table_name for model in ALL_MODELS)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_each_table_of_the_stack_is_its_model(synth, stage, model):
    # GIVEN a model and the table the stack made of it
    _, table = by_property(synth.templates[stage], "AWS::DynamoDB::Table", "TableName")[model.Meta.table_name]

    # THEN keys, key types, every GSI with its projection, billing and TTL are the model's
    assert template_shape(table) == model_shape(model)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_no_index_projects_a_key_attribute_as_a_non_key_one(model):
    # DynamoDB refuses an INCLUDE projection that lists a key of the table or of the index
    # (every index holds those anyway): CreateTable and the stack's deployment would fail.
    schema = model._get_schema()
    table_keys = {k["AttributeName"] for k in schema["key_schema"]}
    for gsi in schema.get("global_secondary_indexes", []):
        keys = table_keys | {k["AttributeName"] for k in gsi["key_schema"]}
        assert not keys & set(gsi["projection"].get("NonKeyAttributes", [])), gsi["index_name"]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_the_local_stack_builds_the_same_table(local_stack, synth, model):
    # GIVEN the table infra/provision.py created in moto, and the one in the CDK stack
    _, table = by_property(synth.templates["prod"], "AWS::DynamoDB::Table", "TableName")[model.Meta.table_name]

    # THEN both are the model
    assert local_stack["tables"][model.Meta.table_name] == model_shape(model) == template_shape(table)


# -- queues ----------------------------------------------------------------------------------------

def _template_queue(template: dict, name: str) -> tuple[str, dict]:
    return by_property(template, "AWS::SQS::Queue", "QueueName")[name]


@pytest.mark.parametrize("stage", STAGES)
def test_the_stack_has_exactly_the_queues_and_their_dlqs(synth, stage):
    names = by_property(synth.templates[stage], "AWS::SQS::Queue", "QueueName")
    assert sorted(names) == sorted([q.name for q in QUEUES] + [q.dlq_name for q in QUEUES])
    assert LOCAL_ATTACHMENT_EVENTS_QUEUE.name not in names  # the local stack's stand-in for S3 -> Lambda


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("spec", QUEUES, ids=lambda q: q.name)
def test_each_queue_has_the_specs_redrive_and_visibility(synth, stage, spec):
    # GIVEN a QueueSpec and its queue and DLQ in the stack
    template = synth.templates[stage]
    _, queue = _template_queue(template, spec.name)
    dlq_id, dlq = _template_queue(template, spec.dlq_name)

    # THEN visibility, redrive target and count, and DLQ retention are the spec's
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert getatt_target(queue["RedrivePolicy"]["deadLetterTargetArn"]) == dlq_id
    assert queue["RedrivePolicy"]["maxReceiveCount"] == spec.max_receive_count
    assert dlq["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS == 14 * 24 * 3600


@pytest.mark.parametrize("spec", QUEUES, ids=lambda q: q.name)
def test_the_local_stack_builds_the_same_queue(local_stack, synth, spec):
    # GIVEN the queue and DLQ infra/provision.py created in moto, and the CDK stack's
    local, local_dlq = local_stack["queues"][spec.name], local_stack["queues"][spec.dlq_name]
    _, queue = _template_queue(synth.templates["prod"], spec.name)
    _, dlq = _template_queue(synth.templates["prod"], spec.dlq_name)
    redrive = json.loads(local["RedrivePolicy"])

    # THEN visibility, redrive and retention agree (and agree with the spec)
    assert int(local["VisibilityTimeout"]) == queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert redrive["deadLetterTargetArn"].rsplit(":", 1)[1] == spec.dlq_name
    assert int(redrive["maxReceiveCount"]) == queue["RedrivePolicy"]["maxReceiveCount"] == spec.max_receive_count
    assert int(local_dlq["MessageRetentionPeriod"]) == dlq["MessageRetentionPeriod"]
    assert int(local["MessageRetentionPeriod"]) == queue.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION)


def test_the_local_stack_has_no_other_queue(local_stack):
    expected = {q.name for q in QUEUES} | {q.dlq_name for q in QUEUES} | {LOCAL_ATTACHMENT_EVENTS_QUEUE.name}
    assert set(local_stack["queues"]) == expected


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("spec", QUEUES, ids=lambda q: q.name)
def test_each_queue_has_one_consumer_whose_timeout_the_visibility_covers_six_times(synth, stage, spec):
    # GIVEN the functions whose SQS event source reads this queue
    template = synth.templates[stage]
    queue_id, _ = _template_queue(template, spec.name)
    consumers = [(fn, event["Properties"]) for fn in resources(template, "AWS::Serverless::Function").values()
                 for event in props(fn).get("Events", {}).values()
                 if event["Type"] == "SQS" and getatt_target(event["Properties"]["Queue"]) == queue_id]

    # THEN there is one; it takes the spec's batch size; its timeout fits the spec's (visibility >= 6x)
    assert len(consumers) == 1
    function, event = consumers[0]
    assert event["BatchSize"] == spec.batch_size
    assert props(function)["Timeout"] <= spec.consumer_timeout_seconds
    assert spec.visibility_timeout_seconds >= 6 * props(function)["Timeout"]


# -- the bucket ------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_bucket_cors_and_trigger_match_the_local_stack(local_stack, synth, stage):
    # GIVEN the attachments bucket of the stack and of the local stack
    [bucket] = [props(r) for r in resources(synth.templates[stage], "AWS::S3::Bucket").values()]
    # named after the app's bucket, then the account and region (bucket names are global)
    assert bucket["BucketName"] == {"Fn::Join": ["", [f"{ATTACHMENTS_BUCKET}-", {"Ref": "AWS::AccountId"}, "-",
                                                      {"Ref": "AWS::Region"}]]}
    [rule] = bucket["CorsConfiguration"]["CorsRules"]
    [local_rule] = local_stack["cors"]

    # THEN browser uploads are allowed the same way: POST, any header, same cache time
    assert rule["AllowedMethods"] == local_rule["AllowedMethods"] == ["POST"]
    assert rule["AllowedHeaders"] == local_rule["AllowedHeaders"]
    assert rule["MaxAge"] == local_rule["MaxAgeSeconds"]
    assert rule["AllowedOrigins"] == ["https://claims.example.com"]  # the origin of public_base_url

    # AND new photos under the prefix trigger record_attachment, as the local stack's queue is told
    [trigger] = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    [local_trigger] = local_stack["notification"]["QueueConfigurations"]
    assert getatt_target(trigger["Function"]) == "RecordAttachment"
    assert [trigger["Event"]] == local_trigger["Events"] == ["s3:ObjectCreated:*"]
    assert trigger["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": ATTACHMENTS_PREFIX}]
    assert local_trigger["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": ATTACHMENTS_PREFIX}]
