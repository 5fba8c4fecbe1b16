"""The local stack's API server (infra/local_stack.py ``api_server``) over HTTP: what Chalice's dev server
would refuse itself is answered as the deployed API Gateway answers it, in the contract's error shape."""
from __future__ import annotations

import http.client
import json
import socket
import threading
from pathlib import Path

import pytest
from chalice.cli.factory import CLIFactory

from app import app
from infra.local_stack import HOST, STAGE, api_server

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def api():
    """The app behind the local stack's API server on a free port (no AWS call is made by these tests)."""
    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=STAGE)
    port = free_port()
    server = api_server(app, config, HOST, port)
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server.server_close()


def call(port: int, method: str, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, path, headers={"Content-Length": "0"})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method, path, allowed", [
    ("TRACE", "/v1/claims", "POST"),
    ("QUERY", "/v1/claims/batch", "POST"),
    ("CONNECT", "/v1/agent/queue", "GET"),
    ("TRACE", "/v1/claims/CLM-20260101-ABCDEF", "GET"),
])
def test_a_method_no_route_takes_is_a_405_in_the_contracts_shape_over_http(api, method, path, allowed):
    # GIVEN a route of the API and a method it does not route (one the dev server has no handler for)
    # WHEN it is called over HTTP
    response, body = call(api, method, path)

    # THEN it is a 405 naming the methods the route takes, in JSON in the contract's shape, not the dev
    # server's HTML 501
    assert response.status == 405, body
    assert response.getheader("Allow") == allowed
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(body) == {"error": {"code": "METHOD_NOT_ALLOWED", "message": "This method is not allowed here."}}


def test_a_method_no_route_takes_on_an_unknown_path_is_a_404_over_http(api):
    # GIVEN a path the API does not have
    # WHEN it is called with TRACE
    response, body = call(api, "TRACE", "/v1/nothing-here")

    # THEN it is the same 404 as for any other method
    assert response.status == 404, body
    assert json.loads(body) == {"error": {"code": "NOT_FOUND", "message": "No such route."}}
