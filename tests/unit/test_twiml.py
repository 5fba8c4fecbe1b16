"""TwiML answers (chalicelib.api.twiml): well-formed XML Twilio reads, in the right language and voice,
with every text escaped."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.api.twiml import CONTENT_TYPE, VOICES, gather, say_and_hangup

ACTION = "https://claims.example.com/v1/ivr/twilio/gather?step=peril&attempt=1"
REDIRECT = "https://claims.example.com/v1/ivr/twilio/voice?attempt=2"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
TRICKY = 'Press 1 <now> & say "车被偷了" — it\'s fine'


def a_gather(**overrides) -> str:
    arguments = dict(prompt_text="请选择出险类型", language="zh-CN", action_url=ACTION,
                     fallback_text="抱歉，没有听清", redirect_url=REDIRECT)
    arguments.update(overrides)
    return gather(**arguments)


def parse(document: str) -> ET.Element:
    assert document.startswith(DECLARATION)
    return ET.fromstring(document.encode("utf-8"))


def test_gather_asks_by_keypad_or_voice_then_falls_back_and_redirects():
    # GIVEN a question in Mandarin
    # WHEN it is answered as TwiML
    response = parse(a_gather(hints=["车被偷了", "银行卡盗刷"]))

    # THEN it is Gather(Say), then Say, then Redirect
    assert response.tag == "Response"
    assert [child.tag for child in response] == ["Gather", "Say", "Redirect"]
    gathered, fallback, redirect = response
    # AND the Gather takes one key or speech, posts to the action URL, in Mandarin recognition
    assert gathered.attrib == {
        "input": "dtmf speech", "numDigits": "1", "action": ACTION, "method": "POST",
        "language": "cmn-Hans-CN", "timeout": "6", "speechTimeout": "auto", "hints": "车被偷了, 银行卡盗刷",
    }
    # AND the prompt and fallback are said by the Mandarin Polly voice
    [prompt] = list(gathered)
    assert prompt.tag == "Say" and prompt.text == "请选择出险类型"
    for say in (prompt, fallback):
        assert say.attrib == {"language": "cmn-CN", "voice": "Polly.Zhiyu"}
    assert fallback.text == "抱歉，没有听清"
    # AND silence leads back by POST to the redirect URL
    assert redirect.attrib == {"method": "POST"}
    assert redirect.text == REDIRECT


@pytest.mark.parametrize("language", ["en", "EN", "en-US", "en_GB"])
def test_english_uses_us_english_recognition_and_an_english_polly_voice(language):
    # GIVEN a question in English
    # WHEN it is answered as TwiML
    response = parse(a_gather(language=language, prompt_text="Press 1 for food safety."))

    # THEN recognition and voice are US English
    gathered = response.find("Gather")
    assert gathered.get("language") == "en-US"
    assert gathered.find("Say").attrib == {"language": "en-US", "voice": "Polly.Joanna"}
    assert response.find("Say").attrib == {"language": "en-US", "voice": "Polly.Joanna"}


@pytest.mark.parametrize("language", ["zh-CN", "zh", "cmn", "fr-FR", "", None])
def test_any_other_language_is_mandarin(language):
    # GIVEN a language we do not speak, or none
    # WHEN a question is answered as TwiML
    response = parse(a_gather(language=language))

    # THEN it is Mandarin
    assert response.find("Gather").get("language") == VOICES["zh-CN"].gather_language
    assert response.find("Say").get("voice") == "Polly.Zhiyu"


def test_gather_options_are_written_as_given():
    # GIVEN a longer keypad answer and timeout, and no hints
    # WHEN it is answered as TwiML
    gathered = parse(a_gather(num_digits=4, timeout_seconds=10)).find("Gather")

    # THEN they are in the attributes, and hints are left out
    assert gathered.get("numDigits") == "4"
    assert gathered.get("timeout") == "10"
    assert "hints" not in gathered.attrib


def test_hints_with_commas_or_blanks_do_not_add_phrases():
    # GIVEN hints with commas, spaces and an empty one
    # WHEN it is answered as TwiML
    gathered = parse(a_gather(hints=["car, stolen", "  ", "glass\n"])).find("Gather")

    # THEN each hint is one phrase in Twilio's comma-separated list
    assert gathered.get("hints") == "car stolen, glass"


@pytest.mark.parametrize("num_digits, timeout_seconds", [(0, 6), (1, 0), (-1, -1)])
def test_gather_refuses_non_positive_digits_or_timeout(num_digits, timeout_seconds):
    # GIVEN a non-positive digit count or timeout
    # WHEN a Gather is made
    # THEN it is refused
    with pytest.raises(ValueError):
        a_gather(num_digits=num_digits, timeout_seconds=timeout_seconds)


def test_text_and_urls_with_markup_characters_are_escaped_and_round_trip():
    # GIVEN prompts and URLs containing < & > " ' and Chinese
    url = "https://claims.example.com/v1/ivr/twilio/gather?a=1&b=<2>&c=\"车\""

    # WHEN they are answered as TwiML
    document = a_gather(prompt_text=TRICKY, fallback_text=TRICKY, action_url=url, redirect_url=url,
                        hints=['"quoted" & <tagged>'])

    # THEN nothing is raw markup in the document
    assert "<now>" not in document and "& say" not in document and "<tagged>" not in document
    # AND parsed back, every text and URL is exactly what was given
    response = parse(document)
    assert response.find("Gather/Say").text == TRICKY
    assert response.find("Say").text == TRICKY
    assert response.find("Gather").get("action") == url
    assert response.find("Gather").get("hints") == '"quoted" & <tagged>'
    assert response.find("Redirect").text == url


def test_say_and_hangup_says_then_hangs_up():
    # GIVEN a closing sentence with markup characters and Chinese
    # WHEN it is answered as TwiML
    response = parse(say_and_hangup(TRICKY, "zh-CN"))

    # THEN the caller hears it in the Mandarin voice and the call ends
    assert [child.tag for child in response] == ["Say", "Hangup"]
    say, hangup = response
    assert say.text == TRICKY
    assert say.attrib == {"language": "cmn-CN", "voice": "Polly.Zhiyu"}
    assert hangup.attrib == {} and not list(hangup) and not hangup.text


def test_say_and_hangup_in_english():
    # GIVEN an English goodbye
    # WHEN it is answered as TwiML
    say = parse(say_and_hangup("Goodbye.", "en")).find("Say")

    # THEN it is said by the English voice
    assert say.attrib == {"language": "en-US", "voice": "Polly.Joanna"}


def test_content_type_is_xml():
    # GIVEN the content type the Twilio routes answer with
    # WHEN it is read
    # THEN it is text/xml
    assert CONTENT_TYPE == "text/xml"


XML_CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff") \
    .filter(lambda ch: ch in "\t\n\r" or ord(ch) >= 0x20)


@given(text=st.text(max_size=200))
@example(text="\x00\x08\x0b\x1f<&>\ud800")
def test_any_text_gives_well_formed_twiml(text):
    # GIVEN any text at all, even characters XML cannot carry
    # WHEN it is said and the call hung up
    document = say_and_hangup(text, "en")

    # THEN the document parses, and the text is kept apart from characters XML cannot carry
    said = parse(document).find("Say").text or ""
    kept = "".join(ch for ch in text if ch in "\t\n\r" or (ord(ch) >= 0x20 and not 0xD800 <= ord(ch) <= 0xDFFF
                                                            and ch not in "\ufffe\uffff"))
    assert said == kept.replace("\r\n", "\n").replace("\r", "\n")


@given(text=st.text(alphabet=XML_CHARACTERS, max_size=200))
def test_any_xml_text_round_trips_through_a_gather(text):
    # GIVEN any text XML can carry
    # WHEN it is the prompt of a Gather
    document = a_gather(prompt_text=text, fallback_text=text)

    # THEN it parses back unchanged (XML parsers read a carriage return as a line feed)
    response = parse(document)
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert (response.find("Gather/Say").text or "") == expected
    assert (response.find("Say").text or "") == expected
