"""The synthesized stack, asserted with aws_cdk.assertions (and on the SAM-transformed template, which
is what CloudFormation really deploys), then linted with cfn-lint."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

from chalicelib.adapters.resources import APP_NAME, DLQ_RETENTION_SECONDS, QUEUES
from chalicelib.observability import NAMESPACE, SERVICE, Telemetry
from chalicelib.settings import Settings
from infra.cdk.access import FUNCTIONS, QUEUE_URL_ENV, SECRET_KEYS, XRAY_ACTIONS
from infra.cdk.chalice_app import ChaliceApp
from infra.cdk.monitoring import PIPELINE_METRICS
from infra.cdk.stack import function_name, missing_distributions
from infra.cdk.stages import chalice_config, chalice_stages, reserved_concurrency, settings_for
from tests.infra.cfn import as_list, by_property, getatt_target, policy_documents, props, resources

STAGES = chalice_stages()
CONSUMERS = [name for name, access in FUNCTIONS.items() if access.consume]


def template(synth, stage) -> Template:
    return Template.from_json(synth.templates[stage])


def functions(tpl: dict) -> dict[str, dict]:
    return resources(tpl, "AWS::Serverless::Function")


# -- partial batch failures and concurrency on every SQS event source -----------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_every_sqs_event_source_reports_batch_item_failures(synth, stage):
    # GIVEN every SQS event of every function, and every event source mapping SAM makes of them
    events = [e for fn in functions(synth.templates[stage]).values()
              for e in props(fn).get("Events", {}).values() if e["Type"] == "SQS"]
    mappings = resources(synth.transformed[stage], "AWS::Lambda::EventSourceMapping")

    # THEN there is one per queue, and each one reports batch item failures
    assert len(events) == len(mappings) == len(QUEUES)
    for event in events:
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for mapping in mappings.values():
        assert props(mapping)["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    Template.from_json(synth.transformed[stage]).all_resources_properties(
        "AWS::Lambda::EventSourceMapping", {"FunctionResponseTypes": ["ReportBatchItemFailures"]})


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("name", CONSUMERS)
def test_each_sqs_event_source_has_a_maximum_concurrency_within_the_reserve(synth, stage, name):
    # GIVEN the consumer's function and the event source mapping SAM makes of its SQS event
    transformed = synth.transformed[stage]
    logical_id = ChaliceApp.logical_id(name)
    [mapping] = [props(m) for m in resources(transformed, "AWS::Lambda::EventSourceMapping").values()
                 if m["Properties"]["FunctionName"] == {"Ref": logical_id}]
    maximum = mapping["ScalingConfig"]["MaximumConcurrency"]
    reserved = reserved_concurrency(stage, name)

    # THEN a burst is capped: 2..1000, never above the reserved concurrency .chalice/config.json sets
    assert 2 <= maximum <= 1000
    assert maximum == min(settings_for(stage).sqs_max_concurrency[name], reserved or 1000)
    function = props(transformed["Resources"][logical_id])
    assert function.get("ReservedConcurrentExecutions") == reserved
    assert getatt_target(mapping["EventSourceArn"]) == by_property(
        transformed, "AWS::SQS::Queue", "QueueName")[FUNCTIONS[name].consume][0]


# -- functions: settings from .chalice/config.json, names, roles, environment ----------------------

def _chalice_setting(stage: str, function: str, key: str):
    config = chalice_config()
    for scope in (config["stages"][stage].get("lambda_functions", {}).get(function, {}), config["stages"][stage],
                  config.get("lambda_functions", {}).get(function, {}), config):
        if key in scope:
            return scope[key]
    return None


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_function_has_its_stage_settings_name_and_own_role(synth, stage, name):
    tpl = synth.templates[stage]
    fn = props(tpl["Resources"][ChaliceApp.logical_id(name)])
    assert fn["FunctionName"] == function_name(stage, name)
    assert fn["Timeout"] == _chalice_setting(stage, name, "lambda_timeout")
    assert fn["MemorySize"] == _chalice_setting(stage, name, "lambda_memory_size")
    assert fn["Tracing"] == ("Active" if _chalice_setting(stage, name, "xray") else "PassThrough")
    role_id = getatt_target(fn["Role"])
    assert role_id and tpl["Resources"][role_id]["Type"] == "AWS::IAM::Role"
    others = [getatt_target(props(f)["Role"]) for k, f in functions(tpl).items() if k != ChaliceApp.logical_id(name)]
    assert role_id not in others  # one role per function
    assert ChaliceApp.PLACEHOLDER_ROLE_ARN not in json.dumps(tpl)


def _environment(tpl: dict, name: str) -> dict:
    return props(tpl["Resources"][ChaliceApp.logical_id(name)]).get("Environment", {}).get("Variables", {})


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_function_gets_queue_urls_and_only_its_secrets_as_references(synth, stage, name):
    # GIVEN the function's environment
    tpl = synth.templates[stage]
    env = _environment(tpl, name)
    access = FUNCTIONS[name]
    queues = by_property(tpl, "AWS::SQS::Queue", "QueueName")

    # THEN each queue URL is the Ref of that queue (no GetQueueUrl needed)
    for queue_name in access.queue_url_env:
        assert env[QUEUE_URL_ENV[queue_name]] == {"Ref": queues[queue_name][0]}
    # AND secrets are only CloudFormation dynamic references to the stage's secret, never values
    secret_vars = {k for k in env if k in SECRET_KEYS}
    assert secret_vars == set(access.secrets)
    for key in secret_vars:
        assert env[key] == f"{{{{resolve:secretsmanager:{APP_NAME}/{stage}:SecretString:{key}}}}}"
    # AND the functions that touch photos get the stack's bucket (named per account and region)
    if access.s3_read or access.s3_presign_upload:
        bucket = next(iter(resources(tpl, "AWS::S3::Bucket").values()))
        assert env["ATTACHMENTS_BUCKET"] == props(bucket)["BucketName"]
    else:
        assert "ATTACHMENTS_BUCKET" not in env
    # AND the app's settings accept the environment and see the queue URLs
    plain = {k: (v if isinstance(v, str) else f"https://sqs.example/{k}") for k, v in env.items()}
    if "ATTACHMENTS_BUCKET" in plain:
        plain["ATTACHMENTS_BUCKET"] = "claims-intake-attachments-123456789012-ap-southeast-1"
    plain = {k: ("" if k in SECRET_KEYS else v) for k, v in plain.items()}
    settings = Settings.from_env(plain)
    for queue_name in access.queue_url_env:
        assert getattr(settings, QUEUE_URL_ENV[queue_name].lower()) == f"https://sqs.example/{QUEUE_URL_ENV[queue_name]}"
    if access.needs_public_base_url:
        assert settings.public_base_url == "https://claims.example.com/api"


def test_queue_url_variables_are_the_ones_settings_reads():
    mapped = Settings.from_env({var: f"https://sqs.example/{var}" for var in QUEUE_URL_ENV.values()})
    for var in QUEUE_URL_ENV.values():
        assert getattr(mapped, var.lower()) == f"https://sqs.example/{var}"


# -- storage ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_every_queue_has_a_dlq_and_sqs_managed_encryption(synth, stage):
    tpl = synth.templates[stage]
    queues = by_property(tpl, "AWS::SQS::Queue", "QueueName")
    dlq_names = {q.dlq_name for q in QUEUES}
    for name, (_, queue) in queues.items():
        assert queue["SqsManagedSseEnabled"] is True
        if name in dlq_names:
            assert queue["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS
            assert "RedrivePolicy" not in queue
        else:
            assert getatt_target(queue["RedrivePolicy"]["deadLetterTargetArn"]) in {
                queues[d][0] for d in dlq_names}
    template(synth, stage).all_resources_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})


@pytest.mark.parametrize("stage", STAGES)
def test_every_table_has_pitr_encryption_and_on_demand_billing(synth, stage):
    template(synth, stage).all_resources_properties("AWS::DynamoDB::Table", {
        "BillingMode": "PAY_PER_REQUEST",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    })


def test_prod_tables_and_bucket_are_protected_and_retained(synth):
    prod = template(synth, "prod")
    prod.all_resources_properties("AWS::DynamoDB::Table", {"DeletionProtectionEnabled": True})
    prod.all_resources("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    prod.all_resources("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})


def test_dev_tables_go_with_the_stack(synth):
    dev = template(synth, "dev")
    dev.all_resources_properties("AWS::DynamoDB::Table", {"DeletionProtectionEnabled": False})
    dev.all_resources("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete"})


@pytest.mark.parametrize("stage", STAGES)
def test_bucket_is_private_tls_only_encrypted_with_a_lifecycle(synth, stage):
    tpl = template(synth, stage)
    tpl.has_resource_properties("AWS::S3::Bucket", {
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "LifecycleConfiguration": {"Rules": Match.array_with([
            Match.object_like({"Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 90}]}),
            Match.object_like({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}})])},
    })
    tpl.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


# -- least privilege -------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_no_allow_statement_has_a_wildcard_action_or_an_unneeded_wildcard_resource(synth, stage):
    # GIVEN every policy document (roles' inline policies, bucket/queue policies)
    documents = list(policy_documents(synth.transformed[stage]))
    assert documents

    for where, document in documents:
        for statement in as_list(document["Statement"]):
            if statement["Effect"] != "Allow":
                continue  # TLS-only guards: Deny of every action without TLS, i.e. less privilege
            actions = as_list(statement["Action"])
            # THEN no allowed action is a wildcard
            assert not [a for a in actions if "*" in a], where
            # AND "*" as a resource only where AWS offers nothing narrower (X-Ray)
            if "*" in as_list(statement.get("Resource", [])):
                assert sorted(actions) == sorted(XRAY_ACTIONS), where
            assert "NotAction" not in statement and "NotResource" not in statement, where


@pytest.mark.parametrize("stage", STAGES)
def test_every_role_is_assumable_by_lambda_only_and_uses_no_managed_policy(synth, stage):
    for logical_id, role in resources(synth.transformed[stage], "AWS::IAM::Role").items():
        statements = props(role)["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in statements] == [{"Service": "lambda.amazonaws.com"}], logical_id
        assert not props(role).get("ManagedPolicyArns"), logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_connect_functions_are_invokable_by_amazon_connect_only(synth, stage):
    tpl = synth.transformed[stage]
    permissions = resources(tpl, "AWS::Lambda::Permission").values()
    for name in ("connect_identify_caller", "connect_report_claim"):
        assert FUNCTIONS[name].invoked_by_connect
        logical_id = ChaliceApp.logical_id(name)
        granted = [props(p) for p in permissions
                   if getatt_target(props(p)["FunctionName"]) == logical_id
                   or props(p)["FunctionName"] == {"Ref": logical_id}]
        assert [(p["Principal"], p["Action"]) for p in granted] == [("connect.amazonaws.com", "lambda:InvokeFunction")]
        assert granted[0]["SourceAccount"] == {"Ref": "AWS::AccountId"}
    template(synth, stage).has_resource_properties("AWS::Lambda::Permission", {
        "Principal": "connect.amazonaws.com", "SourceAccount": {"Ref": "AWS::AccountId"}})


@pytest.mark.parametrize("stage", STAGES)
def test_only_s3_apigateway_events_and_connect_may_invoke_functions(synth, stage):
    permissions = resources(synth.transformed[stage], "AWS::Lambda::Permission").values()
    principals = {props(p)["Principal"] for p in permissions}
    assert principals == {"connect.amazonaws.com", "s3.amazonaws.com", "apigateway.amazonaws.com",
                          "events.amazonaws.com"}


# -- monitoring ------------------------------------------------------------------------------------

def _alarms(tpl: dict) -> list[dict]:
    return [props(a) for a in resources(tpl, "AWS::CloudWatch::Alarm").values()]


@pytest.mark.parametrize("stage", STAGES)
def test_an_alarm_watches_every_dlq(synth, stage):
    tpl = synth.templates[stage]
    queues = by_property(tpl, "AWS::SQS::Queue", "QueueName")
    for spec in QUEUES:
        dlq_id = queues[spec.dlq_name][0]
        watching = [a for a in _alarms(tpl) if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
                    and a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]]
        assert len(watching) == 1, spec.dlq_name
        assert watching[0]["Threshold"] == 0 and watching[0]["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize("stage", STAGES)
def test_an_alarm_counts_claims_handed_to_a_person_after_their_message_was_dead_lettered(synth, stage):
    # GIVEN the synthesized stack
    tpl = synth.templates[stage]

    # WHEN its alarms are read
    watching = [a for a in _alarms(tpl) if a["MetricName"] == "ClaimsNeedingAttention"]

    # THEN one alarm fires as soon as one claim needs attention in five minutes, on the metric the
    # consumers emit (the app's namespace, the service dimension only)
    assert len(watching) == 1
    alarm = watching[0]
    assert (alarm["Namespace"], alarm["Dimensions"]) == (NAMESPACE, [{"Name": "service", "Value": SERVICE}])
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum", 300, 0, "GreaterThanThreshold")


@pytest.mark.parametrize("stage", STAGES)
def test_errors_and_throttles_alarmed_per_consumer_and_api_5xx(synth, stage):
    tpl = synth.templates[stage]
    alarms = _alarms(tpl)
    for name, access in FUNCTIONS.items():
        for metric in ("Errors", "Throttles"):
            found = [a for a in alarms if a["MetricName"] == metric and a["Namespace"] == "AWS/Lambda"
                     and a["Dimensions"] == [{"Name": "FunctionName", "Value": function_name(stage, name)}]]
            assert len(found) == (1 if access.consumer else 0), (name, metric)
    assert [a["Dimensions"] for a in alarms if a["MetricName"] == "5XXError"] == [[
        {"Name": "ApiName", "Value": f"{APP_NAME}-{stage}"}, {"Name": "Stage", "Value": "api"}]]
    api = props(tpl["Resources"]["RestAPI"])
    assert api["Name"] == f"{APP_NAME}-{stage}" and api["StageName"] == "api"


# -- API Gateway's own answers, in the contract's error shape ------------------------------------------

GATEWAY_ANSWERS = {
    # response type: (status, or None to keep the gateway's own; the error's code)
    "MISSING_AUTHENTICATION_TOKEN": ("404", "NOT_FOUND"),  # what API Gateway answers for an unknown route
    "THROTTLED": ("429", "RATE_LIMITED"),
    "REQUEST_TOO_LARGE": ("413", "PAYLOAD_TOO_LARGE"),
    "UNAUTHORIZED": ("401", "UNAUTHENTICATED"),
    "ACCESS_DENIED": ("403", "FORBIDDEN"),
    "DEFAULT_4XX": (None, "REQUEST_REFUSED"),
    "DEFAULT_5XX": (None, "INTERNAL"),
}


@pytest.mark.parametrize("stage", STAGES)
def test_the_gateways_own_answers_are_in_the_contracts_error_shape(synth, stage):
    # GIVEN the REST API as CloudFormation deploys it (after the SAM transform)
    [api] = resources(synth.transformed[stage], "AWS::ApiGateway::RestApi").values()
    answers = props(api)["Body"]["x-amazon-apigateway-gateway-responses"]

    # THEN each of the gateway's own answers has the documented status, a JSON body of the contract's
    # shape with its code, and throttling says when to retry
    assert set(GATEWAY_ANSWERS) <= set(answers)
    for response_type, (status, code) in GATEWAY_ANSWERS.items():
        answer = answers[response_type]
        assert answer.get("statusCode") == status, response_type
        assert answer["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"
        body = json.loads(answer["responseTemplates"]["application/json"])
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, response_type
        assert body["error"]["code"] == code and body["error"]["message"], response_type
    assert answers["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_notifies_the_one_topic(synth, stage):
    tpl = synth.templates[stage]
    [topic_id] = resources(tpl, "AWS::SNS::Topic")
    for alarm in _alarms(tpl):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}] == alarm["OKActions"]
    template(synth, stage).has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "email", "Endpoint": "claims-oncall@example.com"})


def test_dashboard_metrics_are_the_ones_the_app_emits(synth, capsys):
    # GIVEN the EMF lines the app's Telemetry writes for each pipeline metric
    for metric in PIPELINE_METRICS:
        for dims in metric.dimension_sets():
            capsys.readouterr()
            Telemetry().count(metric.name, 1, **{k: v for k, v in dims.items() if k != "service"})
            emf = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
            [directive] = emf["_aws"]["CloudWatchMetrics"]
            # THEN namespace and dimension set (names and values) are what the dashboard plots
            assert directive["Namespace"] == "ClaimsIntake"
            assert sorted(directive["Dimensions"][0]) == sorted(dims)
            assert {k: emf[k] for k in dims} == dims

    # AND the dashboard plots every one of them, in every stage
    for stage in STAGES:
        [dashboard] = resources(synth.templates[stage], "AWS::CloudWatch::Dashboard").values()
        body = json.dumps(props(dashboard)["DashboardBody"])
        for metric in PIPELINE_METRICS:
            for dims in metric.dimension_sets():
                assert f'\\"ClaimsIntake\\",\\"{metric.name}\\"' in body
                for key, value in dims.items():
                    assert f'\\"{key}\\",\\"{value}\\"' in body
        assert "ApproximateAgeOfOldestMessage" in body


# -- the package and the linter --------------------------------------------------------------------

def test_deployment_package_holds_the_app(synth):
    zips = list(Path(synth.directory).glob("asset.*.zip"))
    assert zips
    with zipfile.ZipFile(zips[0]) as archive:
        names = set(archive.namelist())
    assert {"app.py", "chalice/app.py", "chalicelib/api/connect.py", "chalicelib/consumers/pipeline.py"} <= names


def test_a_package_without_its_wheels_is_reported(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# runtime\nboto3==1.0\nPyWavelets==1.9.0  # photos\nimagehash==4.3.2\n-r other.txt\n")
    package = tmp_path / "deployment.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("boto3-1.0.dist-info/METADATA", "")
        archive.writestr("ImageHash-4.3.2.dist-info/METADATA", "")
        archive.writestr("app.py", "")
    assert missing_distributions(package, requirements) == ["PyWavelets"]


@pytest.mark.parametrize("form", ["synthesized", "transformed"])
def test_cfn_lint_passes(synth, tmp_path, form):
    templates = synth.templates if form == "synthesized" else synth.transformed
    paths = []
    for stage, tpl in templates.items():
        path = tmp_path / f"{stage}.{form}.json"
        path.write_text(json.dumps(tpl))
        paths.append(str(path))
    # the `cfn-lint` command (its console script's entry point), in a process of its own
    command = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
    result = subprocess.run([*command, "--regions", "ap-southeast-1", "--", *paths],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
