"""Integration tier: the real app and adapters against in-process moto (``mock_aws``)."""
from __future__ import annotations

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import bootstrap
from infra.provision import create_all
from infra.seed import seed


@pytest.fixture
def aws():
    """Fresh moto account with every table and queue, demo data seeded; yields the queue URLs."""
    with mock_aws():
        bootstrap.reset()
        sqs = boto3.client("sqs")
        queues = create_all(sqs)
        seed()
        yield {"sqs": sqs, "queues": queues}
        bootstrap.reset()


@pytest.fixture
def client(aws):
    from app import app

    with Client(app) as test_client:
        yield test_client
