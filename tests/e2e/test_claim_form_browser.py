"""The customer form and the status page in a real browser (headless Chromium, phone viewport),
against the local stack: the form posts to the API, photos go straight to the (moto) bucket, and
the status page follows the claim through the pipeline.

The tests share one stack (module fixture). The form is rate limited per phone (10 attempts an hour)
and per client address (60): each test uses its own demo policy and phone, and a handful of attempts.
"""
from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import boto3
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, expect, sync_playwright

from chalicelib.adapters.models import ClaimModel
from chalicelib.adapters.resources import Tables
from chalicelib.domain.ids import new_claim_id
from chalicelib.domain.outcome import rejection_message
from chalicelib.domain.products import catalogue
from infra.local_stack import DEFAULT_REGION
from infra.seed import DEMO_AGENT_TOKEN
from tests.e2e.stack import ARTIFACTS, LocalStack

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
BEIJING = ZoneInfo("Asia/Shanghai")
MAX_PHOTO_BYTES = 10 * 1024 * 1024
SETTLE_MS = 30_000  # the claim moving on through the queues
NAVIGATE_MS = 15_000  # submit (and photo upload) until the status page is open
CLAIM_URL = re.compile(r"/claims/(CLM-[0-9A-Z]{26})\?t=[^&#]+")
SUBMIT_PATH = "/v1/public/claims"
POLICY_CHECK_PATH = "/v1/public/policy-check"
NOT_MATCHED = "保单号与手机号不匹配，请核对后重试。"


# -- fixtures and helpers ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set E2E_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Traffic:
    """Everything one page asked for, and the JSON answers of the claim submissions."""

    requests: list[Request] = field(default_factory=list)
    submissions: list[tuple[int, dict]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request)

    def relay_submission(self, route: Route) -> None:
        """Passes a claim submission on unchanged, keeping its answer. (Read from a ``response`` event,
        the body can be gone already: the page leaves for the status page as soon as it has it.)"""
        if route.request.method != "POST":
            route.fallback()
            return
        answer = route.fetch()
        self.submissions.append((answer.status, answer.json()))
        route.fulfill(response=answer)

    def on_console(self, message: ConsoleMessage) -> None:
        # The browser's own favicon request is not the page's: the API answers it 403, as API Gateway does.
        if message.type == "error" and not urlsplit(message.location.get("url", "")).path == "/favicon.ico":
            self.console_errors.append(f"{message.text} at {message.location.get('url')}")

    def to(self, path: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests
                if urlsplit(r.url).path.endswith(path) and (method is None or r.method == method)]

    def foreign_hosts(self) -> set[str]:
        """Hosts other than 127.0.0.1 the page reached (blob: and data: URLs stay in the page)."""
        hosts = set()
        for request in self.requests:
            parts = urlsplit(request.url)
            if parts.scheme in ("blob", "data"):
                continue
            if parts.hostname != "127.0.0.1":
                hosts.add(f"{parts.scheme}://{parts.netloc}")
        return hosts


@dataclass
class Phone:
    page: Page
    traffic: Traffic


def open_phone(browser: Browser, locale: str = "zh-CN") -> Iterator[Phone]:
    context = browser.new_context(**PHONE, locale=locale, timezone_id="Asia/Shanghai")
    try:
        page = context.new_page()
        traffic = Traffic()
        page.on("request", traffic.on_request)
        page.route(f"**{SUBMIT_PATH}", traffic.relay_submission)
        page.on("console", traffic.on_console)
        page.on("pageerror", lambda error: traffic.console_errors.append(f"uncaught: {error}"))
        yield Phone(page, traffic)
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Phone]:
    """A fresh phone (its own context: no cookies, storage or cache from another test), in Chinese."""
    yield from open_phone(browser, "zh-CN")


@pytest.fixture
def english_phone(browser: Browser) -> Iterator[Phone]:
    yield from open_phone(browser, "en-US")


def yesterday_at_lunch() -> str:
    """A ``datetime-local`` value, Beijing time (the browser's zone): yesterday 12:30."""
    return (datetime.now(BEIJING) - timedelta(days=1)).strftime("%Y-%m-%dT12:30")


def find_policy(page: Page, policy_number: str, phone_number: str) -> None:
    page.fill("#policy_number", policy_number)
    page.fill("#phone", phone_number)
    page.click("#continue")


def fill_claim(page: Page, loss_type: str, region_code: str, description: str, amount: str,
               when: str | None = None) -> None:
    expect(page.locator("#claim-form")).to_be_visible()
    page.select_option("#loss_type", loss_type)
    page.fill("#occurred_at", when or yesterday_at_lunch())
    page.select_option("#region_code", region_code)
    page.fill("#description", description)
    page.fill("#amount", amount)


def horizontal_scroll_width(page: Page) -> int:
    return page.evaluate("() => document.scrollingElement.scrollWidth")


def claim_id_of(page: Page) -> str:
    expect(page).to_have_url(CLAIM_URL, timeout=NAVIGATE_MS)
    return CLAIM_URL.search(page.url).group(1)


def claims_stored_for(stack: LocalStack, e164: str) -> list[str]:
    """Every claim stored with this claimant phone, whatever its status or channel, read from the
    claims table on the stack's moto server (the phone index the agent's screen pop uses)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION  # as the stack
    dynamodb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{stack.moto_port}", region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    answer = dynamodb.query(TableName=Tables.CLAIMS, IndexName=ClaimModel.by_caller.Meta.index_name,
                            KeyConditionExpression="caller_phone = :phone",
                            ExpressionAttributeValues={":phone": {"S": e164}})
    return [item["claim_id"]["S"] for item in answer["Items"]]


def receipt_png(path: Path) -> Path:
    """A real PNG: a small receipt-like picture, different on every run."""
    image = Image.new("RGB", (480, 640), "white")
    draw = ImageDraw.Draw(image)
    rng = random.Random()
    for row in range(12):
        y = 40 + row * 45
        draw.rectangle([40, y, 40 + rng.randint(120, 400), y + 18], fill=(rng.randint(0, 90),) * 3)
    draw.ellipse([300, 500, 440, 620], outline=(200, 30, 30), width=6)
    image.save(path, "PNG")
    return path


# -- tests -----------------------------------------------------------------------------------------

def test_a_small_claim_with_a_photo_goes_from_the_form_to_approved(local_stack: LocalStack, phone: Phone,
                                                                   tmp_path: Path):
    # GIVEN the form on a phone, in Chinese, and a photo of the receipt; 45.50 yuan is a small, clean
    # food-safety claim, below what the product approves without a person
    assert Decimal("45.50") < catalogue().get("food_safety").auto_approve_below
    page, traffic = phone.page, phone.traffic
    photo = receipt_png(tmp_path / "receipt.png")
    when = yesterday_at_lunch()
    page.goto(f"{local_stack.api_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    # WHEN the policy holder finds their policy with its number and their phone as they would type it ...
    find_policy(page, "PA2026000123", "138 0013 8000")
    # ... and says what happened: a 45.50 yuan food-safety loss yesterday in Pudong, with the photo
    fill_claim(page, "food_safety", "310115", "昨天中午点的外卖吃完后肚子疼，去药店买了药，附上小票照片。", "45.50",
               when)
    page.set_input_files("#photos", photo)
    expect(page.locator("#photo-list li")).to_have_count(1)
    expect(page.locator("#photo-list li")).to_contain_text("receipt.png")
    expect(page.locator("#errors")).to_be_empty()
    page.screenshot(path=ARTIFACTS / "claim-form-filled.png", full_page=True)
    page.click("#submit")

    # THEN the status page opens for the new claim, with its reference ...
    claim_id = claim_id_of(page)
    expect(page.locator("#reference")).to_have_text(claim_id[-8:])
    # ... the photo, uploaded straight to the bucket, is counted, and the claim is scored and approved
    expect(page.locator("#attachments-count")).to_have_text("1", timeout=SETTLE_MS)
    expect(page.locator("#status")).to_have_attribute("data-status", "APPROVED", timeout=SETTLE_MS)
    expect(page.locator("#status")).to_have_text("您的理赔已获批准。")
    expect(page.locator("#next-step")).to_have_text("赔款正在支付给您，请留意到账。")
    kinds = page.locator("#timeline li").evaluate_all("items => items.map(li => li.dataset.kind)")
    # the form said one photo follows: scored before it was in, the claim waited for it (awaiting_photos)
    assert sorted(k for k in kinds if k != "claim.awaiting_photos") == sorted([
        "claim.received", "claim.policy_resolved", "claim.scored", "claim.auto_approved",
        "claim.attachment_added"]), kinds
    expect(page.locator("#status")).not_to_have_class(re.compile(r"\bchanged\b"))  # its 2.5 s highlight is over
    page.screenshot(path=ARTIFACTS / "claim-status.png", full_page=True)

    # ... what was sent is what was typed: the amount as written, the time in Beijing time
    [sent] = traffic.to(SUBMIT_PATH, "POST")
    body = sent.post_data_json
    assert (body["policy_number"], body["phone"], body["loss_type"], body["region_code"], body["amount"],
            body["attachments_expected"]) == ("PA2026000123", "13800138000", "food_safety", "310115", "45.50", 1)
    assert body["occurred_at"] == f"{when}:00+08:00"
    assert [(status, answer["claim_id"]) for status, answer in traffic.submissions] == [(202, claim_id)]
    # ... the photo went to the bucket on moto, once, and was stored
    uploads = [r for r in traffic.requests if urlsplit(r.url).port == local_stack.moto_port]
    assert [(r.method, r.response().status) for r in uploads if r.method == "POST"] == [("POST", 204)]
    # ... and the page never reached anything but this machine, without a script or CSP error
    assert traffic.foreign_hosts() == set()
    assert traffic.console_errors == []


def rejected_claim(stack: LocalStack, reason_code: str) -> str:
    """A form claim (135.50 yuan: above what food safety approves by itself) that an agent rejected with
    ``reason_code`` and a note of their own; answers its status URL."""
    form = {"submission_key": f"e2e-rejected-{random.getrandbits(48):012x}", "policy_number": "PA2026000126",
            "phone": "158 0015 8000", "loss_type": "food_safety", "occurred_at": f"{yesterday_at_lunch()}:00+08:00",
            "region_code": "310115", "description": "外卖变质，腹泻两天。", "amount": "135.50", "language": "zh-CN"}
    accepted = stack.http.post(f"{stack.api_url}/v1/public/claims", json=form, timeout=10)
    assert accepted.status_code == 202, accepted.text
    claim_id = accepted.json()["claim_id"]
    agent = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}"}
    deadline = time.monotonic() + SETTLE_MS / 1000
    while (view := stack.http.get(f"{stack.api_url}/v1/agent/claims/{claim_id}", headers=agent, timeout=10)
           ).json()["status"] != "IN_REVIEW":
        assert time.monotonic() < deadline, view.text
        time.sleep(0.2)
    decided = stack.http.post(f"{stack.api_url}/v1/agent/claims/{claim_id}/decision", timeout=10,
                              headers={**agent, "if-match": view.headers["ETag"]},
                              json={"decision": "reject", "reason": "agent's own note: shop refunded",
                                    "reason_code": reason_code})
    assert decided.status_code == 200, decided.text
    return f"{stack.api_url}{accepted.json()['status_url']}"


def test_a_rejected_claims_page_tells_the_claimant_why(local_stack: LocalStack, phone: Phone):
    # GIVEN a claim an agent rejected because the loss is not covered
    status_url = rejected_claim(local_stack, "not_covered")
    page = phone.page

    # WHEN the claimant opens its status page
    page.goto(status_url)

    # THEN it says the claim was not approved, and why, in plain words, without the agent's note
    expect(page.locator("#status")).to_have_attribute("data-status", "REJECTED", timeout=SETTLE_MS)
    expect(page.locator("#outcome")).to_be_visible()
    expect(page.locator("#outcome")).to_have_text(rejection_message("not_covered")["zh-CN"])
    expect(page.locator("body")).not_to_contain_text("shop refunded")
    page.screenshot(path=ARTIFACTS / "claim-status-rejected.png", full_page=True)
    # AND in English once the claimant switches
    page.click("#lang-switch")
    expect(page.locator("#outcome")).to_have_text(rejection_message("not_covered")["en"])
    page.screenshot(path=ARTIFACTS / "claim-status-rejected-en.png", full_page=True)
    assert phone.traffic.console_errors == []


def test_neither_page_scrolls_sideways_on_a_360_px_phone(local_stack: LocalStack, phone: Phone):
    # GIVEN the form on a 360 px wide phone
    page = phone.page
    page.goto(f"{local_stack.api_url}/")

    # WHEN it shows step 1, then step 2 with every field's error, then the claim's status page
    widths = {"step 1": horizontal_scroll_width(page)}
    find_policy(page, "PM2026000790", "186 0018 6000")
    expect(page.locator("#claim-form")).to_be_visible()
    page.click("#submit")  # nothing filled in: the form lists what is missing, sends nothing
    expect(page.locator("#errors li")).not_to_have_count(0)
    widths["step 2 with errors"] = horizontal_scroll_width(page)
    fill_claim(page, "motor_collision", "310104", "在路口等红灯时被后车追尾，后保险杠和尾灯损坏。", "3500")
    page.click("#submit")
    claim_id_of(page)
    expect(page.locator("#status")).to_have_attribute(
        "data-status", re.compile("AWAITING_SURVEYOR|WAITING_FOR_SURVEYOR|SURVEYOR_ASSIGNED"), timeout=SETTLE_MS)
    expect(page.locator("#steps li")).to_have_count(5)  # the widest layout: with the site-visit step
    widths["status page"] = horizontal_scroll_width(page)

    # THEN nothing is wider than the screen
    assert all(width <= 360 for width in widths.values()), widths


def test_a_wrong_phone_or_a_wrong_policy_number_get_the_same_answer(local_stack: LocalStack, phone: Phone):
    # GIVEN the form, and the shared-bike policy PB2026000456 of +86 139 0013 9000
    page, traffic = phone.page, phone.traffic
    page.goto(f"{local_stack.api_url}/")

    # WHEN the right policy number is tried with another phone ...
    with page.expect_response(lambda r: urlsplit(r.url).path == POLICY_CHECK_PATH):
        find_policy(page, "PB2026000456", "139 0013 9001")
    expect(page.locator("#errors")).not_to_be_empty()  # cleared on each try, shown once answered
    wrong_phone = page.locator("#errors").inner_text()
    # ... and the right phone with another policy number
    with page.expect_response(lambda r: urlsplit(r.url).path == POLICY_CHECK_PATH):
        find_policy(page, "PB2026000457", "139 0013 9000")
    expect(page.locator("#errors")).not_to_be_empty()
    wrong_number = page.locator("#errors").inner_text()

    # THEN both get the one generic message, which gives away neither
    assert wrong_phone == wrong_number == NOT_MATCHED
    expect(page.locator("#policy_number")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#phone")).not_to_have_attribute("aria-invalid", "true")
    checks = [r.response() for r in traffic.to(POLICY_CHECK_PATH, "POST")]
    assert len(checks) == 2
    assert [(c.status, c.json()["error"]["code"], c.json()["error"]["message"]) for c in checks] == [
        (checks[0].status, "POLICY_NOT_MATCHED", checks[0].json()["error"]["message"])] * 2
    # ... and nothing was submitted: step 2 stays hidden, no claim was posted, none exists for the phone
    expect(page.locator("#claim-form")).to_be_hidden()
    assert traffic.to(SUBMIT_PATH) == []
    assert claims_stored_for(local_stack, "+8613900139000") == []


def test_a_double_tap_on_submit_sends_one_claim(local_stack: LocalStack, phone: Phone):
    # GIVEN a filled-in claim on policy PA2026000124 of +86 136 0013 6000
    page, traffic = phone.page, phone.traffic
    page.goto(f"{local_stack.api_url}/")
    find_policy(page, "PA2026000124", "13600136000")
    fill_claim(page, "food_safety", "310101", "外卖里吃出了异物。", "28.00")

    # WHEN the submit button is tapped twice in a row, faster than any answer can come, and the form
    # is submitted once more another way (not through the button, which the first tap disabled)
    page.evaluate("""() => {
        const button = document.getElementById('submit');
        button.click(); button.click();
        document.getElementById('claim-form').requestSubmit();
    }""")

    # THEN one claim is sent and accepted, and the status page opens for it
    claim_id = claim_id_of(page)
    assert len(traffic.to(SUBMIT_PATH, "POST")) == 1
    assert {answer["claim_id"] for _, answer in traffic.submissions} == {claim_id}
    assert [status for status, _ in traffic.submissions] == [202]
    expect(page.locator("#reference")).to_have_text(claim_id[-8:])

    # ... the same submission sent again (a retry after a lost answer) is the same claim, not a second one
    [sent] = traffic.to(SUBMIT_PATH, "POST")
    again = local_stack.http.post(f"{local_stack.api_url}{SUBMIT_PATH}", data=sent.post_data, timeout=10,
                                  headers={"content-type": "application/json"})
    assert again.status_code == 202, again.text
    assert again.json()["claim_id"] == claim_id
    assert again.headers.get("Idempotent-Replayed") == "true"
    # ... and exactly one claim is stored for the phone (no other test uses it)
    assert claims_stored_for(local_stack, "+8613600136000") == [claim_id]
    assert traffic.console_errors == []


def test_a_photo_over_10_mib_is_refused_before_anything_is_sent(local_stack: LocalStack, phone: Phone):
    # GIVEN the claim form at step 2, for policy PA2026000126 of +86 158 0015 8000
    page, traffic = phone.page, phone.traffic
    page.goto(f"{local_stack.api_url}/")
    find_policy(page, "PA2026000126", "158 0015 8000")
    fill_claim(page, "food_safety", "330106", "外卖送到时已经变质。", "60")

    # WHEN a photo of 10 MiB and 1 byte is chosen
    page.set_input_files("#photos", {"name": "big.jpg", "mimeType": "image/jpeg",
                                     "buffer": os.urandom(MAX_PHOTO_BYTES + 1)})

    # THEN the page says at once which photo is too large, and does not keep it
    expect(page.locator("#errors")).to_contain_text("“big.jpg”太大了")
    expect(page.locator("#errors")).to_contain_text("每张照片不能超过 10 MB")
    expect(page.locator("#photos-error")).to_be_visible()
    expect(page.locator("#photos-error")).to_contain_text("big.jpg")
    expect(page.locator("#photos")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#photo-list li")).to_have_count(0)
    assert traffic.to(SUBMIT_PATH) == [] and traffic.to("/attachments") == []
    # ... and the claim, sent without it, asks for no upload at all
    page.click("#submit")
    claim_id_of(page)
    expect(page.locator("#attachments-count")).to_have_text("0")
    assert len(traffic.to(SUBMIT_PATH, "POST")) == 1
    assert traffic.to("/attachments") == []
    assert [r.url for r in traffic.requests if urlsplit(r.url).port == local_stack.moto_port] == []


def test_in_english_and_a_forged_status_link_is_not_valid(local_stack: LocalStack, english_phone: Phone):
    # GIVEN a phone set to English
    page = english_phone.page

    # WHEN it opens the form with ?lang=en
    page.goto(f"{local_stack.api_url}/?lang=en")

    # THEN the form speaks English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title("Make a claim")
    expect(page.locator("h1")).to_have_text("Make a claim")
    expect(page.locator("label[for=policy_number]")).to_have_text("Policy number")
    expect(page.locator("label[for=phone]")).to_have_text("Mobile phone number")
    expect(page.locator("#continue")).to_have_text("Continue")
    expect(page.locator("#lang-switch")).to_have_text("中文")

    # WHEN a status link with a well-formed claim id but a made-up token is opened
    answer = page.goto(f"{local_stack.api_url}/claims/{new_claim_id()}?t=abc&lang=en")

    # THEN it is a 404 page saying the link is not valid or has expired, with nothing of any claim on it
    assert answer is not None and answer.status == 404
    expect(page.locator("#invalid")).to_be_visible()
    expect(page.locator("#invalid h2")).to_have_text("This link is not valid")
    expect(page.locator("#invalid")).to_contain_text("This link is not valid or has expired.")
    expect(page.locator("#content")).to_be_hidden()
    expect(page.locator("#new-claim")).to_have_attribute("href", "/?lang=en")
