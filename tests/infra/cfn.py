"""Reading synthesized CloudFormation templates in the infra tests."""
from __future__ import annotations

from collections.abc import Iterator


def resources(template: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def props(resource: dict) -> dict:
    return resource.get("Properties", {})


def by_property(template: dict, type_: str, name: str) -> dict[str, tuple[str, dict]]:
    """Resources of a type keyed by one of their properties (e.g. TableName): value -> (logical id, props)."""
    return {props(r)[name]: (logical_id, props(r)) for logical_id, r in resources(template, type_).items()
            if name in props(r)}


def getatt_target(value) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_documents(template: dict) -> Iterator[tuple[str, dict]]:
    """Every policy document of the template: (where, document) - identity and resource policies."""
    for logical_id, resource in template["Resources"].items():
        p = props(resource)
        if resource["Type"] == "AWS::IAM::Role":
            for policy in p.get("Policies", []):
                yield f"{logical_id}/{policy['PolicyName']}", policy["PolicyDocument"]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield logical_id, p["PolicyDocument"]
        elif resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            yield logical_id, p["PolicyDocument"]
