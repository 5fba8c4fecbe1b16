"""The local stack's moto server (infra/moto_server.py) still answers as DynamoDB and SQS do.

It serialises requests and swaps three of moto's costs that grow with a burst for cheaper ones; these
tests pin down that the answers did not change: a cancelled transaction changes nothing, queries return
the same items in the same order and pages, a long poll lets other requests through while it waits,
and messages sent while others are deleted are all delivered once. A real server process, as the
local stack runs it (the patches are process-wide, so never applied in the test process)."""
from __future__ import annotations

import threading
import time
from collections import Counter

import boto3
import pytest
from botocore.exceptions import ClientError

from devkit.moto import MotoServer

REGION = "ap-southeast-1"
TABLE = "moto-server-test"


@pytest.fixture(scope="module")
def server():
    moto = MotoServer()  # the local stack's server, started as the local stack starts it
    try:
        moto.start()
        yield moto
    finally:
        moto.stop()


def client(server, service: str):
    return boto3.client(service, endpoint_url=server.url, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def ddb(server):
    ddb = client(server, "dynamodb")
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in
                                           (("pk", "S"), ("sk", "N"), ("owner", "S"), ("at", "S"))],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     GlobalSecondaryIndexes=[{"IndexName": "by-owner", "Projection": {"ProjectionType": "ALL"},
                                              "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"},
                                                            {"AttributeName": "at", "KeyType": "RANGE"}]}])
    return ddb


def put(pk: str, sk: int, **attrs: str) -> dict:
    return {"Put": {"TableName": TABLE, "Item": {"pk": {"S": pk}, "sk": {"N": str(sk)},
                                                  **{k: {"S": v} for k, v in attrs.items()}}}}


def test_a_cancelled_transaction_changes_nothing_and_a_passing_one_everything(ddb):
    # GIVEN an item
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "tx"}, "sk": {"N": "1"}, "v": {"S": "before"}})

    # WHEN a transaction updates it, adds another and then fails a condition on a third
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "tx"}, "sk": {"N": "1"}},
                        "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "after"}}}},
            put("tx", 2, v="new"),
            {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": {"S": "tx"}, "sk": {"N": "3"}},
                                "ConditionExpression": "attribute_exists(pk)"}}])

    # THEN it is cancelled as a whole: the update is undone and the new item is not there
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    items = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "tx"}}, ConsistentRead=True)["Items"]
    assert [(i["sk"]["N"], i["v"]["S"]) for i in items] == [("1", "before")]

    # AND the same transaction without the failing check writes both
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "tx"}, "sk": {"N": "1"}},
                    "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "after"}}}},
        put("tx", 2, v="new")])
    items = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "tx"}}, ConsistentRead=True)["Items"]
    assert [(i["sk"]["N"], i["v"]["S"]) for i in items] == [("1", "after"), ("2", "new")]


def test_queries_answer_their_partition_and_index_in_key_order_page_by_page(ddb):
    # GIVEN items in several partitions, written out of order, two owners on the index
    for pk, sk in (("q-b", 3), ("q-a", 2), ("q-b", 1), ("q-a", 1), ("q-b", 2), ("q-c", 1)):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"N": str(sk)},
                                            "owner": {"S": "even" if sk % 2 == 0 else "odd"},
                                            "at": {"S": f"2026-11-{20 + sk}T{pk}"}})

    def keys(answer):
        return [(i["pk"]["S"], int(i["sk"]["N"])) for i in answer["Items"]]

    # WHEN a partition is read forwards, backwards with a range condition, and an index in pages of two
    forwards = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues={":p": {"S": "q-b"}})
    backwards = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p AND sk > :s", ScanIndexForward=False,
                          ExpressionAttributeValues={":p": {"S": "q-b"}, ":s": {"N": "1"}})
    nobody = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                       ExpressionAttributeValues={":p": {"S": "q-z"}})
    pages, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(TableName=TABLE, IndexName="by-owner", KeyConditionExpression="#o = :o", Limit=2,
                         ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": {"S": "odd"}},
                         **kwargs)
        pages.append(keys(page))
        start = page.get("LastEvaluatedKey")
        if not start:
            break

    # THEN each answers its own items, in key order, and the index pages cover its items once each
    assert keys(forwards) == [("q-b", 1), ("q-b", 2), ("q-b", 3)]
    assert keys(backwards) == [("q-b", 3), ("q-b", 2)]
    assert keys(nobody) == []
    assert [k for p in pages for k in p] == [("q-a", 1), ("q-b", 1), ("q-c", 1), ("q-b", 3)]
    assert all(len(p) <= 2 for p in pages)


def test_a_long_poll_lets_a_send_through_while_it_waits_and_receives_it(server):
    # GIVEN an empty queue and a consumer long-polling it
    sqs = client(server, "sqs")
    url = sqs.create_queue(QueueName="moto-server-long-poll")["QueueUrl"]
    received: list = []
    poll = threading.Thread(target=lambda: received.extend(
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])))
    poll.start()
    time.sleep(0.5)  # lets the poll start waiting; if it has not, it finds the message at once anyway

    # WHEN a producer sends a message meanwhile
    client(server, "sqs").send_message(QueueUrl=url, MessageBody="hello")
    poll.join(15)

    # THEN the send was not held up behind the waiting poll: the poll got the message
    assert [m["Body"] for m in received] == ["hello"]


def test_messages_sent_while_others_are_deleted_are_each_delivered_once(server):
    # GIVEN a queue, producers sending 300 messages, and a consumer receiving and deleting meanwhile
    url = client(server, "sqs").create_queue(QueueName="moto-server-race",
                                             Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    sent = [f"m{n:03d}" for n in range(300)]
    seen: Counter = Counter()
    produced = threading.Event()

    def produce(bodies: list[str]) -> None:
        sqs = client(server, "sqs")
        for body in bodies:
            sqs.send_message(QueueUrl=url, MessageBody=body)

    def consume() -> None:
        sqs = client(server, "sqs")
        idle = 0
        while not produced.is_set() or idle < 2:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            idle = 0 if messages else idle + 1
            seen.update(m["Body"] for m in messages)
            if messages:
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])

    # WHEN they all run at once
    producers = [threading.Thread(target=produce, args=(sent[n::3],)) for n in range(3)]
    consumer = threading.Thread(target=consume)
    for t in (*producers, consumer):
        t.start()
    for t in producers:
        t.join(120)
    produced.set()
    consumer.join(120)

    # THEN every message was delivered, once
    assert seen == Counter(sent)
