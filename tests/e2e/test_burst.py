"""A festival-day spike on the local stack: claims from every channel at once, then the drain.

The module starts its own local stack (the conftest's, with the burst's environment): the partners'
rate limit raised (one machine sends it all), the claim form's per-address limit set to four fifths
of the form's share (one machine's address: the rest must be refused with 429 and Retry-After, so the
refusal path is exercised under the burst too), Amazon Connect's functions served on the stack's
Lambda Invoke API, two pollers per queue (concurrent consumers race for the same claims and surveyors,
as concurrent Lambda batches do), and dispatch retries pushed past the test so a waiting claim stays put.

The burst is devkit/burst_driver.py's, shared with ``bench/burst.py`` (10,000 claims, figures). Its size
here is BURST_CLAIMS, 250 by default: every claim costs moto's server about 16 requests through
intake, scoring, dispatch and notification at several milliseconds of CPU each, so on two shared
cores a few hundred claims is what drains in about a minute. The test waits for the drain, never
asserts on time, and prints one summary line (to the real stderr, so it shows in CI's log).
"""
from __future__ import annotations

import os
import sys
import time

import pytest

from chalicelib.adapters.resources import QUEUES
from devkit.burst_driver import (
    STACK_ENVIRONMENT,
    DepthSampler,
    Stack,
    count,
    outcome,
    plan,
    population,
    problems,
    resolve_twilio,
    seed_population,
    submit,
    wait_for_drain,
)
from devkit.ports import free_port
from tests.e2e.stack import LocalStack

pytestmark = pytest.mark.e2e

CLAIMS = int(os.environ.get("BURST_CLAIMS", "250"))
THREADS = 12
RUN = 1  # policy numbers, phones and plates of this burst carry it
SURVEYORS, CAPACITY = 4, 4  # 16 places, with the demo's 13 within reach of Pudong: fewer than the motor claims
DRAIN_WITHIN_SECONDS = 900  # a bound for a stuck pipeline, not a timing assertion
SHANGHAI_PREFIX = "31"  # every Shanghai district is within dispatch's two rings of Pudong, Beijing's are not
FORM_CLAIMS = sum(1 for c in population(CLAIMS, RUN) if c.channel == "form")
FORM_LIMIT = FORM_CLAIMS * 4 // 5  # per client address and window: the burst's form claims all come from 127.0.0.1


@pytest.fixture(scope="module")
def lambda_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def burst_environment(lambda_port):
    with pytest.MonkeyPatch.context() as env:
        # a day's window: the limiter's windows are fixed, and a burst straddling the boundary of an hour's
        # would count from zero again halfway through
        for name, value in {**STACK_ENVIRONMENT, "FORM_LIMIT_PER_ADDRESS": str(FORM_LIMIT),
                            "FORM_LIMIT_WINDOW_SECONDS": "86400",
                            "LAMBDA_PORT": str(lambda_port), "CONSUMER_THREADS": "2",
                            "DISPATCH_RETRY_BASE_SECONDS": "900"}.items():
            env.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def local_stack(burst_environment, local_stack) -> LocalStack:
    """The conftest's stack, started with the burst's environment."""
    return local_stack


def test_a_spike_across_every_channel_is_stored_scored_and_dispatched_once(local_stack, lambda_port, capfd):
    began = time.monotonic()
    # GIVEN the stack, a fresh policy for each claim of the burst, and a few more surveyors in Pudong
    stack = Stack(local_stack.api_url, f"http://127.0.0.1:{local_stack.moto_port}", f"http://127.0.0.1:{lambda_port}")
    claims = population(CLAIMS, RUN)
    seed_population(stack, claims, SURVEYORS, CAPACITY)
    sampler = DepthSampler(stack.moto_url, every=2.0)
    sampler.start()

    # WHEN every channel sends its share at once, as fast as the stack answers
    burst = submit(stack, plan(claims, RUN), RUN, THREADS)
    # AND the consumers work through the queues
    drained = wait_for_drain(sampler, [q.name for q in QUEUES], DRAIN_WITHIN_SECONDS)
    drain_seconds = time.monotonic() - burst.began
    sampler.stop()
    counted = count(stack, sampler)
    resolve_twilio(burst, counted)
    result = outcome(burst, counted)
    errors = local_stack.output().count('"level":"ERROR"')
    with capfd.disabled():
        print(f"\nburst of {CLAIMS} claims: {result.line()}; submitted in {burst.seconds:.1f} s, queues drained "
              f"{drain_seconds:.1f} s after the first request, test {time.monotonic() - began:.1f} s; "
              f"{errors} ERROR log lines", file=sys.stderr, flush=True)

    # THEN the queues drained, and every accepted claim was stored once, scored once, dispatched at most
    # once and within every surveyor's capacity; whatever was refused was a 429/503 with Retry-After
    assert drained, f"queues still busy after {DRAIN_WITHIN_SECONDS} s: {sampler.samples[-1][1]}\n{local_stack.tail()}"
    broken = problems(burst, counted)
    assert not broken, "\n".join(broken)
    assert result.accepted + sum(result.rejected.values()) == CLAIMS
    assert result.stored == result.scored == result.accepted
    # AND the form's claims beyond its limit for one address were refused with 429, nothing else was
    assert result.rejected == {"429": FORM_CLAIMS - FORM_LIMIT}
    accepted_by_channel = {r.channel for r in burst.records for item in r.items if item.accepted}
    assert accepted_by_channel == {"partner", "partner_batch", "form", "twilio", "ivr_events", "connect"}
    # AND no place in reach was left free while a claim waited, nor filled twice: every place is taken
    places = sum(int(s["capacity"]) for s in counted.surveyors.values()
                 if s["region_code"].startswith(SHANGHAI_PREFIX) and s["status"] == "AVAILABLE")
    assert result.survey_needed > places, "the burst should need more surveyors than there are"
    assert result.dispatched == places
    assert result.waiting == result.survey_needed - places
    assert result.in_dlq == 0
