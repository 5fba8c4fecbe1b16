"""The hotline voice menu and its prompts, shared by every IVR channel (Connect, Twilio, other vendors).

Digit ``1`` is ``MENU[0]`` … ``9`` is ``MENU[8]``, in the order of ``perils.PERILS``. Callers may also say
what happened; ``peril_from_speech`` matches Mandarin and English keywords, or a spoken menu number.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.domain.perils import PERILS

if TYPE_CHECKING:
    from chalicelib.domain.products import Catalogue

MENU: tuple[str, ...] = tuple(PERILS)

ZH_CN = "zh-CN"
EN = "en"
LANGUAGES = (ZH_CN, EN)
DEFAULT_LANGUAGE = ZH_CN

REFERENCE_LENGTH = 8
MAX_SPEECH_CHARS = 500  # a speech result is a sentence or two; longer input is cut, never an error

# -- keypad ----------------------------------------------------------------------------------------

_PERIL_BY_DIGIT = {str(position): peril for position, peril in enumerate(MENU, start=1)}
_DIGIT_BY_PERIL = {peril: digit for digit, peril in _PERIL_BY_DIGIT.items()}


def peril_for_digit(digits: str | None) -> str | None:
    """``"3"``, ``" 3 "`` and ``"3#"`` are menu item 3; anything but a single digit 1-9 is None."""
    if not digits:
        return None
    text = digits.strip()
    if text.endswith("#"):
        text = text[:-1].rstrip()
    return _PERIL_BY_DIGIT.get(text)


def digit_for_peril(peril: str) -> str:
    """The keypad digit of a peril; KeyError for a peril that is not on the menu."""
    return _DIGIT_BY_PERIL[peril]


# -- the caller's menu ------------------------------------------------------------------------------

def menu_perils(products_in_force: Iterable[str], catalogue: Catalogue) -> list[str]:
    """The perils the caller's products in force cover, in menu order; the whole menu for an unknown
    caller (or products the catalogue does not know)."""
    covered = {peril for code in products_in_force if (product := catalogue.get(code)) for peril in product.perils}
    return [peril for peril in MENU if peril in covered] or list(MENU)


def menu_keys(perils: Iterable[str]) -> str:
    """The keypad digits of a menu, e.g. ``"16789"``: how a re-prompt knows which menu was offered."""
    return "".join(digit_for_peril(peril) for peril in perils)


def menu_of_keys(keys: str) -> list[str]:
    """The perils of a menu's keys (anything else is skipped); the whole menu when none is left."""
    return [peril for peril in map(peril_for_digit, keys) if peril] or list(MENU)


def peril_chosen(offered: list[str], digits: str | None, speech: str | None) -> str | None:
    """What the caller chose: a key of the menu they were offered, or else the peril they named (speech
    is not held to the menu: a caller who says what happened is taken at their word)."""
    keyed = peril_for_digit(digits)
    return (keyed if keyed in offered else None) or peril_from_speech(speech)


# -- speech ----------------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    **{str(n): n for n in range(1, 10)},
}
_NUMBER = "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
# The whole utterance is a menu number: "1", "one", "number one", "press 1", "一", "一号", "按1", "选择二", "第三项".
_SPOKEN_NUMBER = (rf"(?:(?:number|option|press|key)\s*)?(?P<n>{_NUMBER})"
                  rf"|(?:按|选|选择|第)?(?P<zh>{_NUMBER})(?:号|个|项|号键|键)?")

# Specific rules first. A rule that matches consumes the words it matched, so a later, more general rule
# cannot match the same words ("单车被偷" is the bike, not a stolen car; "card fraud" is card theft).
# If the words left over still match another peril, the speech is ambiguous.
_EN_SENTENCE = r"[^.!?。！？]*?"
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("shared_bike_accident", (
        r"(?:共享单车|单车|自行车|骑车|骑行)(?:时|的时候)?(?:出了?|发生了?)?(?:事故|意外|摔倒|摔伤|摔了)?",
        r"\b(?:shared |e-?)?(?:bike|bicycle|cycling|cyclist)s?\b(?: (?:accident|crash))?",
    )),
    ("motor_theft", (
        r"(?:车|车辆|车子|汽车)(?:被|让人|被人)?(?:偷|盗)", r"车丢了", r"车不见了", r"偷车", r"盗车",
        rf"\b(?:car|vehicle|auto)\b{_EN_SENTENCE}\b(?:stolen|stole|theft|missing)\b",
        rf"\b(?:stolen|stole)\b{_EN_SENTENCE}\b(?:car|vehicle)\b",
    )),
    ("motor_glass", (
        r"挡风玻璃", r"挡风", r"玻璃", r"车窗",
        r"\bwind(?:screen|shield)s?\b", r"\b(?:car )?glass\b",
    )),
    ("motor_flood", (
        r"水淹", r"被淹", r"泡水", r"暴雨", r"涉水",
        r"\bflood(?:ed|ing|s)?\b", r"\bsubmerged\b", r"\bwater damage\b",
    )),
    ("card_theft", (
        r"(?:银行|信用|储蓄|借记)卡(?:账户|帐户)?", r"盗刷", r"被刷",
        r"\b(?:credit |debit |bank )?cards? (?:fraud|theft|scam)\b",
        r"\b(?:credit |debit |bank )?cards?\b",
        r"\bunauthori[sz]ed (?:charges?|transactions?|payments?)\b",
    )),
    ("rental_account_security", (
        r"租房", r"房租", r"租客", r"房东", r"账户被盗", r"账号被盗", r"帐号被盗", r"账号", r"帐号", r"账户",
        r"\brent(?:al|ing|ed)?\b", r"\blandlord\b", r"\btenant\b", r"\baccounts?\b", r"\bhacked\b",
    )),
    ("online_shopping_fraud", (
        r"网购", r"购物", r"诈骗", r"被骗", r"骗子", r"假货", r"骗",
        r"\b(?:online )?shopping\b", r"\bfraud\b", r"\bscam(?:med|mer)?s?\b", r"\bfake goods\b",
    )),
    ("food_safety", (
        r"外卖", r"食物中毒", r"食物", r"食品", r"吃坏", r"拉肚子", r"腹泻", r"变质",
        r"\bfood(?: poisoning)?\b", r"\btake-?(?:away|out)\b", r"\bdiarrh?o?ea\b", r"\bsick after eating\b",
    )),
    ("motor_collision", (
        r"撞", r"碰撞", r"擦碰", r"被碰", r"碰了", r"追尾", r"事故", r"车祸", r"剐蹭", r"刮蹭",
        r"\bcollisions?\b", r"\bcollided\b", r"\bcrash(?:ed|es)?\b", r"\brear[- ]ended\b",
        rf"\b(?:car|vehicle|traffic|road|motor)\b{_EN_SENTENCE}\baccident\b",
        rf"\baccident\b{_EN_SENTENCE}\b(?:car|vehicle|traffic|road)\b",
        r"\bhit by a (?:car|truck|van|bus)\b",
    )),
)
_SPACE_BY_HAN = r"(?<=[\u4e00-\u9fff])\s+|\s+(?=[\u4e00-\u9fff])"


@lru_cache(maxsize=1)
def _speech_patterns() -> tuple[re.Pattern[str], re.Pattern[str], tuple[tuple[str, re.Pattern[str]], ...]]:
    """(spoken number, spaces around Han characters, the rules), compiled on first use: only Twilio's
    speech needs them, and compiling them at import cost every function's cold start ~10 ms."""
    return (re.compile(_SPOKEN_NUMBER), re.compile(_SPACE_BY_HAN),
            tuple((peril, re.compile("|".join(patterns))) for peril, patterns in _RULES))


def _fold_speech(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text[:MAX_SPEECH_CHARS]).casefold()
    folded = _speech_patterns()[1].sub("", folded)  # recognisers sometimes space out Chinese characters
    return re.sub(r"\s+", " ", folded).strip()


def _without_punctuation(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("P")).strip()


def peril_from_speech(text: str | None) -> str | None:
    """The peril a caller named, in Mandarin or English, or the menu number they said; None when none or
    more than one peril is named."""
    if not text:
        return None
    spoken_number, _, rules = _speech_patterns()
    folded = _fold_speech(text)
    number = spoken_number.fullmatch(_without_punctuation(folded))
    if number:
        return MENU[_NUMBER_WORDS[number.group("n") or number.group("zh")] - 1]
    named: set[str] = set()
    rest = folded
    for peril, pattern in rules:
        rest, hits = pattern.subn(" ", rest)
        if hits:
            named.add(peril)
    return named.pop() if len(named) == 1 else None


# -- language and references -----------------------------------------------------------------------

def language_or_default(value: str | None) -> str:
    """``en``, ``en-US``, ``EN_gb`` → ``en``; anything else (``zh``, ``zh-CN``, ``cmn``, unknown) → ``zh-CN``."""
    if value and value.strip().casefold().startswith("en"):
        return EN
    return DEFAULT_LANGUAGE


def voice_reference(claim_id: str) -> str:
    """What the caller is told to quote: the last 8 characters of the claim id (its random part), upper case."""
    return claim_id.strip()[-REFERENCE_LENGTH:].upper()


def spell(reference: str) -> str:
    """``"7K3M"`` → ``"7 K 3 M"``, so text-to-speech reads it character by character."""
    return " ".join(ch for ch in reference if not ch.isspace())


# -- prompts ---------------------------------------------------------------------------------------

_PERIL_NAMES: dict[str, dict[str, str]] = {
    ZH_CN: {
        "food_safety": "外卖食品问题",
        "shared_bike_accident": "共享单车意外",
        "rental_account_security": "租房或账户安全",
        "card_theft": "银行卡盗刷",
        "online_shopping_fraud": "网购诈骗",
        "motor_collision": "车辆碰撞事故",
        "motor_theft": "车辆被盗",
        "motor_glass": "车窗玻璃破损",
        "motor_flood": "车辆水淹",
    },
    EN: {
        "food_safety": "food safety",
        "shared_bike_accident": "a shared bike accident",
        "rental_account_security": "rental or account security",
        "card_theft": "card theft",
        "online_shopping_fraud": "online shopping fraud",
        "motor_collision": "a car collision",
        "motor_theft": "a stolen car",
        "motor_glass": "car glass damage",
        "motor_flood": "a flooded car",
    },
}

_PROMPTS: dict[str, dict[str, str]] = {
    "greeting_known": {
        ZH_CN: "您好，欢迎再次致电理赔报案专线。",
        EN: "Hello, and welcome back to the claims hotline.",
    },
    "greeting_unknown": {
        ZH_CN: "您好，欢迎致电理赔报案专线。",
        EN: "Hello, and welcome to the claims hotline.",
    },
    "menu": {
        ZH_CN: "请选择出险类型：{items}。您也可以直接说出发生了什么。",
        EN: "{items}. Or just tell us what happened.",
    },
    "not_understood": {
        ZH_CN: "抱歉，我们没有听清您的选择。",
        EN: "Sorry, we did not catch that.",
    },
    "claim_created": {
        ZH_CN: "您的报案已受理。报案参考号是：{reference}。再说一遍：{reference}。我们会尽快与您联系。",
        EN: "Your claim has been registered. Your reference is {reference}. Again: {reference}. "
            "We will be in touch shortly.",
    },
    "already_reported": {
        ZH_CN: "您今天已经报过这起损失，无需重复报案。报案参考号仍是：{reference}。",
        EN: "You have already reported this loss today, so there is no need to report it again. "
            "Your reference is still {reference}.",
    },
    "open_claim": {
        ZH_CN: "您有一件正在处理中的理赔，参考号是：{reference}。",
        EN: "You have a claim in progress, reference {reference}.",
    },
    "goodbye": {
        ZH_CN: "感谢您的来电，再见。",
        EN: "Thank you for calling. Goodbye.",
    },
    "technical_problem": {
        ZH_CN: "非常抱歉，系统暂时出现问题。我们的客服人员会尽快给您回电，您也可以稍后再拨。",
        EN: "We are sorry, we have a technical problem right now. An agent will call you back, "
            "or please try again later.",
    },
}
PROMPT_NAMES = tuple(_PROMPTS)
_SPEECH_ONLY_MENU = {ZH_CN: "请说出发生了什么。", EN: "Please tell us what happened."}


def peril_name(peril: str, language: str) -> str:
    """What a peril is called on the phone; KeyError for an unknown peril, zh-CN for an unknown language."""
    return _PERIL_NAMES[language_or_default(language)][peril]


def _menu_items(perils: list[str] | tuple[str, ...], language: str) -> str:
    digits = sorted({digit_for_peril(peril) for peril in perils}, key=int)
    if language == EN:
        return ". ".join(f"Press {digit} for {peril_name(_PERIL_BY_DIGIT[digit], EN)}" for digit in digits)
    return "；".join(f"{peril_name(_PERIL_BY_DIGIT[digit], ZH_CN)}请按{digit}" for digit in digits)


def prompt(name: str, language: str, /, **values) -> str:
    """A prompt from the catalogue, in ``language`` (zh-CN when it is not one we speak).

    ``menu`` takes ``perils`` (peril codes, read in keypad order; the whole menu when left out, speech
    only when empty);
    ``claim_created``, ``already_reported`` and ``open_claim`` take ``reference``, which is spelled out.
    An unknown name, peril or a missing value raises KeyError.
    """
    language = language_or_default(language)
    template = _PROMPTS[name][language]
    if name == "menu":
        perils = values.get("perils")
        perils = MENU if perils is None else perils
        if not perils:
            return _SPEECH_ONLY_MENU[language]
        values["items"] = _menu_items(perils, language)
    if "{reference}" in template:
        values["reference"] = spell(values["reference"])
    return template.format_map(values)
