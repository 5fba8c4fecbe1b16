"""The local stack's Lambda Invoke API (LAMBDA_PORT): the Amazon Connect functions, invoked over HTTP
the way Lambda's own API invokes them, by boto3's ``lambda`` client pointed at it."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from devkit.ports import free_port
from infra.local_stack import LambdaInvokeServer

EVENT = {"Name": "ContactFlowEvent", "Details": {"ContactData": {"ContactId": "c-1"}, "Parameters": {}}}


def flow_function(name: str, event: dict) -> dict:
    """Stands in for the app's functions: echoes what it was given, or fails as a function can."""
    if event.get("fail"):
        raise RuntimeError("the function failed")
    return {"result": "ok", "function": name, "contact": event["Details"]["ContactData"]["ContactId"]}


@pytest.fixture
def lambda_api():
    server = LambdaInvokeServer("127.0.0.1", free_port(), flow_function)
    server.start()
    try:
        yield boto3.client("lambda", endpoint_url=server.url, region_name="ap-southeast-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing",
                           config=Config(retries={"max_attempts": 1}))
    finally:
        server.stop()


def test_a_connect_function_answers_its_result(lambda_api):
    # GIVEN a contact flow's event
    # WHEN the flow invokes connect_report_claim through the API
    answer = lambda_api.invoke(FunctionName="connect_report_claim", Payload=json.dumps(EVENT))

    # THEN Lambda's answer carries the function's result
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"result": "ok", "function": "connect_report_claim",
                                                     "contact": "c-1"}


def test_a_function_that_raises_is_a_function_error_not_a_failed_call(lambda_api):
    # GIVEN an event the function fails on
    # WHEN it is invoked
    answer = lambda_api.invoke(FunctionName="connect_identify_caller", Payload=json.dumps({**EVENT, "fail": True}))

    # THEN the call succeeds and says the function failed, without the error's message
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read()) == {"errorType": "RuntimeError", "errorMessage": "unhandled"}


def test_only_the_functions_aws_invokes_directly_are_served(lambda_api):
    # GIVEN a function of the app that only a queue or a schedule invokes
    # WHEN someone invokes it through the API
    # THEN it is not found, as an unknown function is
    with pytest.raises(lambda_api.exceptions.ResourceNotFoundException):
        lambda_api.invoke(FunctionName="reconcile_claims", Payload=json.dumps({}))


def test_a_body_that_is_not_json_is_refused(lambda_api):
    # GIVEN a payload that is not JSON
    # WHEN it is invoked
    # THEN the request is refused as Lambda refuses it
    with pytest.raises(lambda_api.exceptions.InvalidRequestContentException):
        lambda_api.invoke(FunctionName="connect_report_claim", Payload=b"{not json")
