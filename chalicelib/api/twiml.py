"""TwiML answers for the Twilio Voice webhooks, as strings. Text is always XML-escaped by ElementTree.

Our languages map to Twilio's in one table: ``<Gather>`` speech recognition takes a BCP-47 tag
(``cmn-Hans-CN`` for Mandarin in mainland China, ``en-US``; a bare ``en`` is rejected by Twilio), and
``<Say>`` with an Amazon Polly voice takes that voice's Polly language code (``Polly.Zhiyu`` speaks
``cmn-CN``, ``Polly.Joanna`` speaks ``en-US``).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from chalicelib.domain.ivr import EN, ZH_CN, language_or_default

CONTENT_TYPE = "text/xml"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


@dataclass(frozen=True)
class TwilioVoice:
    say_voice: str
    say_language: str
    gather_language: str


VOICES: dict[str, TwilioVoice] = {
    ZH_CN: TwilioVoice(say_voice="Polly.Zhiyu", say_language="cmn-CN", gather_language="cmn-Hans-CN"),
    EN: TwilioVoice(say_voice="Polly.Joanna", say_language="en-US", gather_language="en-US"),
}

# Characters XML 1.0 cannot carry at all, escaped or not: they are dropped rather than sent to Twilio.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _voice(language: str) -> TwilioVoice:
    return VOICES[language_or_default(language)]


def _say(parent: ET.Element, text: str, voice: TwilioVoice) -> None:
    say = ET.SubElement(parent, "Say", {"language": voice.say_language, "voice": voice.say_voice})
    say.text = _text(text)


def _document(response: ET.Element) -> str:
    return _DECLARATION + ET.tostring(response, encoding="unicode")


def gather(prompt_text: str, language: str, action_url: str, *, num_digits: int = 1, timeout_seconds: int = 6,
           hints: list[str] | None = None, fallback_text: str, redirect_url: str) -> str:
    """Ask a question by keypad or voice; Twilio posts the answer to ``action_url``.

    When the caller says and presses nothing, Twilio goes on past the ``<Gather>``: the fallback is said
    and the call is redirected (usually back to the question).
    """
    if num_digits < 1 or timeout_seconds < 1:
        raise ValueError("num_digits and timeout_seconds must be positive")
    voice = _voice(language)
    attributes = {
        "input": "dtmf speech",
        "numDigits": str(num_digits),
        "action": _text(action_url),
        "method": "POST",
        "language": voice.gather_language,
        "timeout": str(timeout_seconds),
        "speechTimeout": "auto",
    }
    phrases = [re.sub(r"[,\s]+", " ", _text(hint)).strip() for hint in hints or ()]
    phrases = [phrase for phrase in phrases if phrase]
    if phrases:
        attributes["hints"] = ", ".join(phrases)  # Twilio reads hints as a comma-separated list
    response = ET.Element("Response")
    _say(ET.SubElement(response, "Gather", attributes), prompt_text, voice)
    _say(response, fallback_text, voice)
    redirect = ET.SubElement(response, "Redirect", {"method": "POST"})
    redirect.text = _text(redirect_url)
    return _document(response)


def say_and_hangup(text: str, language: str) -> str:
    response = ET.Element("Response")
    _say(response, text, _voice(language))
    ET.SubElement(response, "Hangup")
    return _document(response)
