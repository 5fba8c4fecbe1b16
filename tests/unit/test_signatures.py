"""Webhook signatures (chalicelib.domain.signatures): Twilio's, checked against Twilio's own
RequestValidator, and the generic vendor ``X-Signature`` header with rotation, staleness and garbage."""
from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from chalicelib.domain.errors import DomainError
from chalicelib.domain.signatures import (
    MALFORMED,
    MISMATCH,
    MISSING,
    STALE,
    SignatureRejected,
    sign_webhook,
    twilio_signature,
    twilio_signature_valid,
    verify_webhook,
)

AUTH_TOKEN = "12345"
VOICE_URL = "https://claims.example.com/v1/ivr/twilio/voice"
CALL = [
    ("CallSid", "CA1234567890ABCDE"),
    ("From", "+8613800138000"),
    ("To", "+862150001234"),
    ("Caller", "+8613800138000"),
    ("Digits", "1234"),
]


class FormParams:
    """A multi-valued form, shaped like the MultiDict Twilio's RequestValidator reads with ``getall``."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.pairs = pairs

    def __iter__(self):
        return iter(name for name, _ in self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


# -- Twilio ----------------------------------------------------------------------------------------

TWILIO_CASES = {
    "plain call": (VOICE_URL, CALL),
    "repeated parameter": (VOICE_URL, CALL + [("Hints", "zeta"), ("Hints", "alpha"), ("Hints", "mid")]),
    "chinese speech result": (VOICE_URL + "/gather", CALL + [("SpeechResult", "我的车被偷了"),
                                                             ("Confidence", "0.91")]),
    "query string": (VOICE_URL + "?step=menu&lang=zh-CN", CALL),
    "empty value": (VOICE_URL, CALL + [("Digits", ""), ("SpeechResult", "")]),
    "no parameters": (VOICE_URL, []),
}


@pytest.mark.parametrize("url, params", TWILIO_CASES.values(), ids=TWILIO_CASES.keys())
def test_our_twilio_signature_is_the_one_twilio_computes(url, params):
    # GIVEN a Twilio webhook URL and its form parameters
    # WHEN Twilio's own RequestValidator signs them
    theirs = RequestValidator(AUTH_TOKEN).compute_signature(url, FormParams(params))

    # THEN we compute the same signature and accept it
    assert twilio_signature(AUTH_TOKEN, url, params) == theirs
    assert twilio_signature_valid(AUTH_TOKEN, url, params, theirs)


@pytest.mark.parametrize("url, params", TWILIO_CASES.values(), ids=TWILIO_CASES.keys())
def test_twilio_request_validator_accepts_the_signature_we_produce(url, params):
    # GIVEN a signature we produce
    ours = twilio_signature(AUTH_TOKEN, url, params)

    # WHEN Twilio's RequestValidator checks it
    # THEN it is valid
    assert RequestValidator(AUTH_TOKEN).validate(url, FormParams(params), ours)


def test_twilio_signature_matches_the_documented_example():
    # GIVEN the example from Twilio's webhook security documentation
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}

    # WHEN it is signed with the documented token
    # THEN the signature is the documented one
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_repeated_parameter_values_are_sorted_not_taken_in_order():
    # GIVEN the same repeated parameter in two orders
    one_order = CALL + [("Hints", "b"), ("Hints", "a")]
    other_order = CALL + [("Hints", "a"), ("Hints", "b")]

    # WHEN both are signed
    # THEN the signatures are equal
    assert twilio_signature(AUTH_TOKEN, VOICE_URL, one_order) == twilio_signature(AUTH_TOKEN, VOICE_URL, other_order)


@pytest.mark.parametrize("tamper", [
    lambda url, params: (url, [("Digits", "9") if name == "Digits" else (name, value) for name, value in params]),
    lambda url, params: (url, params + [("Extra", "1")]),
    lambda url, params: (url, params[:-1]),
    lambda url, params: (url.replace("/voice", "/gather"), params),
    lambda url, params: (url + "?step=2", params),
    lambda url, params: (url.replace("https://", "http://"), params),
], ids=["changed value", "added parameter", "dropped parameter", "other path", "added query", "other scheme"])
def test_tampered_twilio_request_is_invalid(tamper):
    # GIVEN a genuine signature
    signature = RequestValidator(AUTH_TOKEN).compute_signature(VOICE_URL, FormParams(CALL))

    # WHEN the URL or a parameter is changed
    url, params = tamper(VOICE_URL, list(CALL))

    # THEN the signature no longer validates
    assert not twilio_signature_valid(AUTH_TOKEN, url, params, signature)


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_missing_twilio_signature_is_invalid(signature):
    # GIVEN no signature header
    # WHEN it is checked
    # THEN it is invalid
    assert not twilio_signature_valid(AUTH_TOKEN, VOICE_URL, CALL, signature)


def test_twilio_signature_with_another_auth_token_is_invalid():
    # GIVEN a signature made with another account's token
    signature = RequestValidator("other-token").compute_signature(VOICE_URL, FormParams(CALL))

    # WHEN it is checked with ours
    # THEN it is invalid
    assert not twilio_signature_valid(AUTH_TOKEN, VOICE_URL, CALL, signature)


@pytest.mark.parametrize("signed_url, called_url", [
    ("https://claims.example.com:443/v1/ivr/twilio/voice", VOICE_URL),
    (VOICE_URL, "https://claims.example.com:443/v1/ivr/twilio/voice"),
])
def test_twilio_signature_with_or_without_the_default_port_is_valid(signed_url, called_url):
    # GIVEN Twilio signed the URL with or without the default port (its back end does both)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_url, FormParams(CALL))

    # WHEN we check it against the URL written the other way
    # THEN it is valid, as Twilio's RequestValidator says too
    assert twilio_signature_valid(AUTH_TOKEN, called_url, CALL, signature)
    assert RequestValidator(AUTH_TOKEN).validate(called_url, FormParams(CALL), signature)


@given(signature=st.text(max_size=60), url=st.text(max_size=80),
       params=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=5))
@example(signature="x", url="http://host:notaport/path", params=[])
@example(signature="\ud800", url=VOICE_URL, params=[("a", "\udfff")])
def test_any_twilio_input_is_checked_without_raising(signature, url, params):
    # GIVEN any header, URL and parameters at all
    # WHEN the signature is checked
    # THEN the answer is a bool (and a random text is never a valid signature)
    assert twilio_signature_valid(AUTH_TOKEN, url, params, signature) is False


# -- generic vendor webhooks -----------------------------------------------------------------------

NOW = 1_795_619_141
BODY = '{"type": "claim.reported", "call_id": "c-1", "loss": {"description": "车被撞了"}}'.encode()
ACME_OLD, ACME_NEW, VOXCO = "acme-secret-2025", "acme-secret-2026", "voxco-secret"
SECRETS = [("acme", ACME_OLD), ("acme", ACME_NEW), ("voxco", VOXCO)]


def reject_reason(header, body=BODY, secrets=SECRETS, now=NOW) -> str:
    with pytest.raises(SignatureRejected) as rejected:
        verify_webhook(header, body, secrets, now)
    return rejected.value.reason


def test_sign_webhook_is_hmac_sha256_of_timestamp_dot_body():
    # GIVEN a secret, a time and a body
    # WHEN the header is made
    header = sign_webhook(ACME_NEW, NOW, BODY)

    # THEN it is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">
    expected = hmac.new(ACME_NEW.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"


def test_valid_signature_identifies_its_vendor():
    # GIVEN a body signed with a vendor's secret just now
    header = sign_webhook(VOXCO, NOW, BODY)

    # WHEN it is verified
    # THEN the vendor is identified
    assert verify_webhook(header, BODY, SECRETS, NOW) == "voxco"


@pytest.mark.parametrize("secret", [ACME_OLD, ACME_NEW])
def test_both_secrets_of_a_rotating_vendor_verify(secret):
    # GIVEN a vendor listed with its old and new secret while it rotates
    header = sign_webhook(secret, NOW, BODY)

    # WHEN a body signed with either is verified
    # THEN it is that vendor
    assert verify_webhook(header, BODY, SECRETS, NOW) == "acme"


def test_secret_of_another_vendor_identifies_that_vendor_not_the_first():
    # GIVEN two vendors, the body signed by the second
    header = sign_webhook(VOXCO, NOW, BODY)

    # WHEN verified against a list where the other vendor comes first
    # THEN the signer is named
    assert verify_webhook(header, BODY, [("acme", ACME_NEW), ("voxco", VOXCO)], NOW) == "voxco"


@pytest.mark.parametrize("body", [BODY + b" ", BODY.replace(b"c-1", b"c-2"), b"", BODY[:-1]])
def test_tampered_body_is_a_mismatch(body):
    # GIVEN a genuine header for one body
    header = sign_webhook(ACME_NEW, NOW, BODY)

    # WHEN another body is presented with it
    # THEN it is rejected as a mismatch
    assert reject_reason(header, body=body) == MISMATCH


def test_unknown_secret_is_a_mismatch():
    # GIVEN a body signed with a secret nobody is configured with
    # WHEN it is verified
    # THEN it is a mismatch
    assert reject_reason(sign_webhook("someone-else", NOW, BODY)) == MISMATCH


def test_timestamp_is_part_of_what_is_signed():
    # GIVEN a genuine signature whose timestamp is moved by a second
    signature = sign_webhook(ACME_NEW, NOW, BODY).split(",")[1]

    # WHEN it is verified
    # THEN it is a mismatch
    assert reject_reason(f"t={NOW - 1},{signature}") == MISMATCH


def test_empty_secret_never_verifies():
    # GIVEN a vendor configured with an empty secret by mistake, and a body signed with ""
    header = sign_webhook("", NOW, BODY)

    # WHEN it is verified
    # THEN it is a mismatch, not that vendor
    assert reject_reason(header, secrets=[("misconfigured", "")]) == MISMATCH


@pytest.mark.parametrize("age", [301, -301, 86_400, -86_400])
def test_signature_beyond_five_minutes_either_way_is_stale(age):
    # GIVEN a correctly signed body from more than five minutes ago, or in the future
    header = sign_webhook(ACME_NEW, NOW - age, BODY)

    # WHEN it is verified now
    # THEN it is stale
    assert reject_reason(header) == STALE


@pytest.mark.parametrize("age", [300, -300, 0])
def test_signature_within_five_minutes_either_way_is_accepted(age):
    # GIVEN a correctly signed body up to five minutes old or early
    header = sign_webhook(ACME_NEW, NOW - age, BODY)

    # WHEN it is verified now
    # THEN it is accepted
    assert verify_webhook(header, BODY, SECRETS, NOW) == "acme"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header_is_missing(header):
    # GIVEN no X-Signature header
    # WHEN it is verified
    # THEN it is rejected as missing
    assert reject_reason(header) == MISSING


GOOD_V1 = "v1=" + "a" * 64


@pytest.mark.parametrize("header", [
    "garbage",
    f"v1={'a' * 64}",                       # no timestamp
    f"t={NOW}",                             # no signature
    f"t={NOW},v1=xyz",                      # not hex
    f"t={NOW},v1={'a' * 63}",               # too short
    f"t=-{NOW},{GOOD_V1}",                  # signed timestamp
    f"t=+{NOW},{GOOD_V1}",
    f"t={NOW}.5,{GOOD_V1}",
    f"t=1{'0' * 12},{GOOD_V1}",             # 13 digits
    f"t=１７９５６１９１４１,{GOOD_V1}",          # full-width digits
    f"t=١٧٩٥٦١٩١٤١,{GOOD_V1}",              # Arabic-Indic digits
    f"t={NOW},t={NOW},{GOOD_V1}",           # two timestamps
    f"t={NOW},,{GOOD_V1}",                  # empty part
    f"t={NOW},=x,{GOOD_V1}",                # empty name
    f"t={NOW};{GOOD_V1}",
    f"t={NOW},{GOOD_V1}," + ",".join([GOOD_V1] * 9),  # too many signatures
    f"t={NOW},{GOOD_V1}" + "x" * 3000,     # too long
])
def test_malformed_header_is_malformed(header):
    # GIVEN a header that cannot be read as t=<digits>,v1=<64 hex>
    # WHEN it is verified
    # THEN it is rejected as malformed
    assert reject_reason(header) == MALFORMED


def test_multiple_v1_entries_verify_when_any_matches():
    # GIVEN a header with several v1 entries, only the last made with a known secret
    t, genuine = sign_webhook(ACME_NEW, NOW, BODY).split(",")
    header = f"{t},v1={'0' * 64},v1={'f' * 64},{genuine}"

    # WHEN it is verified
    # THEN it is accepted
    assert verify_webhook(header, BODY, SECRETS, NOW) == "acme"


def test_multiple_v1_entries_none_matching_is_a_mismatch():
    # GIVEN a header with several v1 entries, none genuine
    header = f"t={NOW},v1={'0' * 64},v1={'f' * 64}"

    # WHEN it is verified
    # THEN it is a mismatch
    assert reject_reason(header) == MISMATCH


def test_spaces_upper_case_hex_and_unknown_schemes_are_tolerated():
    # GIVEN a genuine header written with spaces, upper-case hex and a scheme we do not know
    signature = sign_webhook(ACME_NEW, NOW, BODY).split("v1=")[1]
    header = f" t = {NOW} , v0=legacy , v1 = {signature.upper()} "

    # WHEN it is verified
    # THEN it is accepted
    assert verify_webhook(header, BODY, SECRETS, NOW) == "acme"


def test_rejection_is_a_403_domain_error_whose_reason_leaks_no_secret_or_signature():
    # GIVEN a body signed with a secret and presented with another body
    header = sign_webhook(ACME_NEW, NOW, BODY)
    with pytest.raises(SignatureRejected) as rejected:
        verify_webhook(header, b"{}", SECRETS, NOW)

    # WHEN the error is looked at
    error = rejected.value

    # THEN it is a DomainError with its own code, and nothing secret is in it
    assert isinstance(error, DomainError)
    assert error.code == "SIGNATURE_INVALID"
    told = f"{error} {error.message} {error.reason} {error!r}"
    for secret in (ACME_OLD, ACME_NEW, VOXCO, header.split("v1=")[1]):
        assert secret not in told


@given(st.text(max_size=300))
@example(f"t={NOW},{GOOD_V1}")
@example("t=" + "9" * 12 + f",{GOOD_V1}")
@example("t=\x00,v1=\ud800")
@example("=,=,=")
def test_any_text_header_is_rejected_only_with_signature_rejected(header):
    # GIVEN any text as the X-Signature header
    # WHEN it is verified
    # THEN the only error is SignatureRejected, with one of the four reasons
    with pytest.raises(SignatureRejected) as rejected:
        verify_webhook(header, BODY, SECRETS, NOW)
    assert rejected.value.reason in {MISSING, MALFORMED, STALE, MISMATCH}


def test_signing_needs_non_negative_unix_seconds():
    # GIVEN a timestamp that is not unix seconds
    # WHEN a header is made
    # THEN it is refused
    for timestamp in (-1, 1.5, True):
        with pytest.raises(ValueError):
            sign_webhook(ACME_NEW, timestamp, BODY)
