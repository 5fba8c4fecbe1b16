"""The Lambda SQS event shape built from received messages: used by the local stack's queue pollers and the tests."""
from __future__ import annotations


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    """A Lambda SQS event with the records AWS would deliver for these received messages."""
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": {
            "ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
            "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0"),
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {
            name: {"stringValue": attr["StringValue"], "stringListValues": [], "binaryListValues": [],
                   "dataType": attr["DataType"]}
            for name, attr in m.get("MessageAttributes", {}).items()
        },
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    } for m in messages]}


def receive(sqs, queue_url: str, max_messages: int = 10, wait: int = 0) -> list[dict]:
    return sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait,
                               AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])


def queue_arn(sqs, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
