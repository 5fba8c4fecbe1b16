"""The service's logs survive Chalice's own logging setup (Chalice sets its app logger to ERROR)."""
from __future__ import annotations

import io
import logging

from chalicelib.observability import SERVICE, logger


def test_service_logger_is_not_the_chalice_app_logger():
    # GIVEN the Chalice app, whose logger Chalice configures itself
    from app import app

    # WHEN Chalice (re)configures its logging, as it does when its debug flag is set
    app.debug = False

    # THEN the service logger is another logger, still at INFO, and an INFO line is written
    assert logging.getLogger(SERVICE) is not app.log
    handler = logger.registered_handler
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    try:
        logger.info("claim received", extra={"claim_id": "CLM-TEST"})
    finally:
        handler.setStream(original)
    assert '"claim_id":"CLM-TEST"' in buffer.getvalue()
