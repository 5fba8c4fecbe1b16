"""The hotline menu and prompts (chalicelib.domain.ivr): keypad digits, speech in Mandarin and English,
the message catalogue in both languages, and the claim reference read out to callers."""
from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.domain.ids import new_claim_id
from chalicelib.domain.ivr import (
    LANGUAGES,
    MENU,
    PROMPT_NAMES,
    digit_for_peril,
    language_or_default,
    menu_keys,
    menu_of_keys,
    menu_perils,
    peril_chosen,
    peril_for_digit,
    peril_from_speech,
    peril_name,
    prompt,
    spell,
    voice_reference,
)
from chalicelib.domain.perils import PERILS
from chalicelib.domain.products import catalogue

# -- keypad ----------------------------------------------------------------------------------------


def test_menu_is_every_peril_in_catalogue_order():
    # GIVEN the perils accepted at intake
    # WHEN the voice menu is read
    # THEN it lists all nine, in the same order
    assert MENU == tuple(PERILS)
    assert len(MENU) == 9


@pytest.mark.parametrize("peril", MENU)
def test_menu_digit_round_trips(peril):
    # GIVEN a peril on the menu
    # WHEN its digit is pressed
    digit = digit_for_peril(peril)

    # THEN the digit is its place on the menu, and pressing it gives the peril back
    assert digit == str(MENU.index(peril) + 1)
    assert peril_for_digit(digit) == peril


@pytest.mark.parametrize("pressed, peril", [
    ("1", "food_safety"), ("9", "motor_flood"), (" 6 ", "motor_collision"), ("7#", "motor_theft"),
    ("\t3 #\n", "rental_account_security"),
])
def test_pressed_digit_with_spaces_or_hash_is_its_peril(pressed, peril):
    # GIVEN what Twilio or Connect reports as the pressed keys
    # WHEN it is read as a menu choice
    # THEN it is the peril of that digit
    assert peril_for_digit(pressed) == peril


@pytest.mark.parametrize("pressed", [None, "", "0", "10", "11", "#", "*", "1##", "#1", "a", "1 2", "١", "１"])
def test_anything_but_one_digit_from_1_to_9_is_no_choice(pressed):
    # GIVEN no key, zero, two digits, symbols or non-ASCII digits
    # WHEN it is read as a menu choice
    # THEN there is no choice
    assert peril_for_digit(pressed) is None


def test_digit_of_an_unknown_peril_is_a_key_error():
    # GIVEN a peril that is not on the menu
    # WHEN its digit is asked for
    # THEN it is a KeyError
    with pytest.raises(KeyError):
        digit_for_peril("volcano")


# -- the caller's menu ------------------------------------------------------------------------------

def test_a_callers_menu_is_the_perils_of_their_products_in_force_in_menu_order():
    # GIVEN a caller whose policies in force are a motor policy and a food-delivery policy
    # WHEN their menu is made
    perils = menu_perils(("motor", "food_safety"), catalogue())

    # THEN it offers what those products cover, in keypad order, and nothing else
    assert perils == ["food_safety", "motor_collision", "motor_theft", "motor_glass", "motor_flood"]
    assert menu_keys(perils) == "16789"


@pytest.mark.parametrize("products", [(), ("no_such_product",)])
def test_an_unknown_caller_or_an_unknown_product_gets_the_whole_menu(products):
    assert menu_perils(products, catalogue()) == list(MENU)


def test_the_keys_of_a_menu_give_back_its_perils_and_no_keys_the_whole_menu():
    # GIVEN the keys a menu was offered with (they ride along in the re-prompt's URL)
    # WHEN they are read back, with anything that is not a menu key among them
    # THEN the same perils come back; none at all is the whole menu
    assert menu_of_keys("16x0") == ["food_safety", "motor_collision"]
    assert menu_of_keys("") == menu_of_keys("x0") == list(MENU)


@pytest.mark.parametrize("digits, speech, peril", [
    ("1", None, "food_safety"),
    ("7", None, None),  # a key the menu did not offer
    ("7", "外卖吃坏肚子了", "food_safety"),  # then what was said
    (None, "my car was stolen", "motor_theft"),  # speech is not held to the menu: the caller said it
    ("", "", None),
])
def test_the_peril_chosen_is_an_offered_key_or_else_the_peril_the_caller_named(digits, speech, peril):
    # GIVEN a menu of food safety and motor collision
    # WHEN the caller presses a key or speaks
    # THEN the key counts only when it was offered; speech names any peril
    assert peril_chosen(["food_safety", "motor_collision"], digits, speech) == peril


# -- speech ----------------------------------------------------------------------------------------

SPOKEN = [
    # Mandarin
    ("我点的外卖吃坏肚子了", "food_safety"),
    ("食物中毒", "food_safety"),
    ("吃了以后一直拉肚子", "food_safety"),
    ("骑共享单车摔倒了", "shared_bike_accident"),
    ("自行车出了事故", "shared_bike_accident"),
    ("单车被偷了", "shared_bike_accident"),
    ("我的租房押金账号被人盗了", "rental_account_security"),
    ("账户被盗", "rental_account_security"),
    ("我的银行卡被盗刷了", "card_theft"),
    ("信用卡被人刷了", "card_theft"),
    ("网购遇到诈骗", "online_shopping_fraud"),
    ("买东西被骗了", "online_shopping_fraud"),
    ("我的车被追尾了", "motor_collision"),
    ("发生了交通事故", "motor_collision"),
    ("车子撞到护栏", "motor_collision"),
    ("我的车被偷了", "motor_theft"),
    ("车辆被盗", "motor_theft"),
    ("挡风玻璃被石头砸裂了", "motor_glass"),
    ("暴雨把车泡水了", "motor_flood"),
    ("车库水淹", "motor_flood"),
    ("我 的 车 被 偷 了", "motor_theft"),  # recognisers sometimes space out characters
    # English
    ("I got food poisoning from a takeaway", "food_safety"),
    ("I fell off a shared bike", "shared_bike_accident"),
    ("bike accident", "shared_bike_accident"),
    ("My rental account was hacked", "rental_account_security"),
    ("Someone used my credit card", "card_theft"),
    ("My card was stolen", "card_theft"),
    ("credit card fraud", "card_theft"),
    ("I was scammed shopping online", "online_shopping_fraud"),
    ("Online shopping fraud", "online_shopping_fraud"),
    ("I had a car accident", "motor_collision"),
    ("Accident on the road this morning", "motor_collision"),
    ("I was rear-ended", "motor_collision"),
    ("There was a collision", "motor_collision"),
    ("My car was stolen", "motor_theft"),
    ("Someone stole my car last night", "motor_theft"),
    ("The windscreen cracked", "motor_glass"),
    ("Windshield", "motor_glass"),
    ("My car was flooded", "motor_flood"),
    ("FLOOD", "motor_flood"),
    ("ＦＬＯＯＤ", "motor_flood"),  # full width, NFKC-normalised
]


@pytest.mark.parametrize("said, peril", SPOKEN)
def test_what_the_caller_says_names_the_peril(said, peril):
    # GIVEN a speech result in Mandarin or English
    # WHEN it is matched
    # THEN it is the peril the caller described
    assert peril_from_speech(said) == peril


@pytest.mark.parametrize("said, peril", [
    ("1", "food_safety"), ("one", "food_safety"), ("One.", "food_safety"), ("一", "food_safety"),
    ("一号", "food_safety"), ("1号", "food_safety"), ("按2", "shared_bike_accident"),
    ("Number three", "rental_account_security"), ("press 4", "card_theft"), ("第五项", "online_shopping_fraud"),
    ("六", "motor_collision"), ("seven", "motor_theft"), ("八号", "motor_glass"), ("9.", "motor_flood"),
])
def test_a_spoken_menu_number_is_that_menu_item(said, peril):
    # GIVEN the caller says a menu number instead of pressing it
    # WHEN it is matched
    # THEN it is that menu item
    assert peril_from_speech(said) == peril


@pytest.mark.parametrize("said", [
    None, "", "   ", "hello", "你好", "我想咨询一下", "accident", "I want to speak to an agent",
    "0", "ten", "十", "12", "one two",
    # two different perils at once
    "我的车被偷了，银行卡也被盗刷了", "My car was stolen and my card too", "flood and a broken windscreen",
])
def test_unclear_or_ambiguous_speech_is_no_peril(said):
    # GIVEN speech that names no peril, or more than one
    # WHEN it is matched
    # THEN there is no peril, so the caller is asked again
    assert peril_from_speech(said) is None


def test_specific_phrases_win_over_the_general_words_inside_them():
    # GIVEN phrases whose words also belong to a more general rule
    # WHEN they are matched
    # THEN the specific rule wins: a stolen car is not card theft, a shared bike is not a car
    assert peril_from_speech("car stolen") == "motor_theft"
    assert peril_from_speech("card stolen") == "card_theft"
    assert peril_from_speech("共享单车被偷") == "shared_bike_accident"
    assert peril_from_speech("挡风玻璃") == "motor_glass"


@given(st.text(max_size=600))
@example("\x00")
@example("车" * 600)
@example("car " * 200 + "stolen")
def test_any_speech_gives_a_menu_peril_or_none_and_never_raises(text):
    # GIVEN any text at all as a speech result
    # WHEN it is matched
    result = peril_from_speech(text)

    # THEN it is a menu peril or None
    assert result is None or result in MENU


@given(st.text(max_size=50))
def test_any_pressed_keys_give_a_menu_peril_or_none_and_never_raise(keys):
    # GIVEN any text at all as pressed keys
    # WHEN it is read as a menu choice
    result = peril_for_digit(keys)

    # THEN it is a menu peril or None
    assert result is None or result in MENU


# -- languages -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, language", [
    ("zh-CN", "zh-CN"), ("zh-cn", "zh-CN"), ("ZH", "zh-CN"), ("cmn", "zh-CN"), ("en", "en"), ("EN", "en"),
    ("en-US", "en"), ("en_GB", "en"), (" english ", "en"), ("fr-FR", "zh-CN"), ("", "zh-CN"), (None, "zh-CN"),
])
def test_language_is_one_we_speak_mandarin_by_default(value, language):
    # GIVEN a language as a channel or customer record gives it
    # WHEN it is read
    # THEN it is en or zh-CN, Mandarin unless it is English
    assert language_or_default(value) == language
    assert language_or_default(value) in LANGUAGES


# -- references ------------------------------------------------------------------------------------

def test_voice_reference_is_the_last_eight_characters_upper_case():
    # GIVEN a claim id
    claim_id = "CLM-01JDQ7ZP4XW8N2B6C9D0E7K3MA"

    # WHEN it is turned into what a caller is told
    # THEN it is its last 8 characters
    assert voice_reference(claim_id) == "D0E7K3MA"
    assert voice_reference(claim_id.lower()) == "D0E7K3MA"


def test_voice_reference_of_a_new_claim_id_is_eight_crockford_characters():
    # GIVEN a freshly made claim id
    # WHEN its voice reference is taken
    reference = voice_reference(new_claim_id())

    # THEN it is 8 characters of the claim id alphabet
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", reference)


@pytest.mark.parametrize("reference, spelled", [("7K3M", "7 K 3 M"), ("D0E7K3MA", "D 0 E 7 K 3 M A"),
                                                 ("7K 3M", "7 K 3 M"), ("", "")])
def test_reference_is_spelled_one_character_at_a_time(reference, spelled):
    # GIVEN a reference
    # WHEN it is spelled for text-to-speech
    # THEN its characters are separated by single spaces
    assert spell(reference) == spelled


# -- prompts ---------------------------------------------------------------------------------------

VALUES = {"reference": "D0E7K3MA", "perils": list(MENU)}
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PROMPT_NAMES)
def test_every_prompt_exists_in_both_languages_and_formats(name, language):
    # GIVEN a prompt name and a language
    # WHEN the prompt is made with its values
    text = prompt(name, language, **VALUES)

    # THEN it is a finished sentence in that language, with nothing left to fill in
    assert text.strip()
    assert "{" not in text and "}" not in text
    assert bool(HAN.search(text)) == (language == "zh-CN")


def test_catalogue_has_the_prompts_the_hotline_needs():
    # GIVEN the prompt catalogue
    # WHEN its names are listed
    # THEN every prompt the IVR channels use is there
    assert set(PROMPT_NAMES) >= {"greeting_known", "greeting_unknown", "menu", "not_understood", "claim_created",
                                 "already_reported", "open_claim", "goodbye", "technical_problem"}


@pytest.mark.parametrize("name", ["claim_created", "already_reported", "open_claim"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_reference_is_read_out_spelled(name, language):
    # GIVEN a prompt that tells the caller their reference
    # WHEN it is made
    text = prompt(name, language, reference="D0E7K3MA")

    # THEN the reference is spelled out, not read as one word
    assert "D 0 E 7 K 3 M A" in text
    assert "D0E7K3MA" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_greeting_a_known_caller_says_nothing_personal(language):
    # GIVEN a known caller
    # WHEN they are greeted (the greeting takes no values at all)
    text = prompt("greeting_known", language, name="张三", phone="+8613800138000", policy="PA2026000123")

    # THEN no name, phone number or policy number is said
    for personal in ("张三", "138", "PA2026"):
        assert personal not in text


def test_english_menu_says_press_n_for_each_given_peril_by_its_menu_digit():
    # GIVEN a caller whose policies cover two perils
    # WHEN the menu is made
    text = prompt("menu", "en", perils=["motor_glass", "food_safety"])

    # THEN each is offered with its own menu digit, in keypad order, and speech is invited
    assert "Press 1 for food safety" in text
    assert f"Press 8 for {peril_name('motor_glass', 'en')}" in text
    assert text.index("Press 1") < text.index("Press 8")
    assert "Press 2" not in text
    assert "tell us what happened" in text


def test_mandarin_menu_says_press_n_for_each_given_peril():
    # GIVEN a caller whose policy covers one peril
    # WHEN the menu is made in Mandarin
    text = prompt("menu", "zh-CN", perils=["motor_theft"])

    # THEN the peril is offered with its digit, and speech is invited
    assert f"{peril_name('motor_theft', 'zh-CN')}请按7" in text
    assert "请按1" not in text
    assert "说出发生了什么" in text


def test_menu_without_perils_offers_all_and_with_none_only_speech():
    # GIVEN no perils given, and an empty list
    # WHEN the menu is made
    everything = prompt("menu", "en")
    speech_only = prompt("menu", "en", perils=[])

    # THEN no list means the whole menu; an empty one means just "tell us"
    assert all(f"Press {digit}" in everything for digit in "123456789")
    assert "Press" not in speech_only and "what happened" in speech_only


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_peril_has_a_name_in_both_languages(language):
    # GIVEN every peril on the menu
    # WHEN its spoken name is asked for
    names = [peril_name(peril, language) for peril in MENU]

    # THEN each has its own name in that language
    assert all(names) and len(set(names)) == len(MENU)
    assert all(bool(HAN.search(name)) == (language == "zh-CN") for name in names)


def test_unknown_language_falls_back_to_mandarin():
    # GIVEN a language we do not speak
    # WHEN a prompt or peril name is asked for in it
    # THEN it is the Mandarin one
    assert prompt("goodbye", "fr-FR") == prompt("goodbye", "zh-CN")
    assert peril_name("card_theft", "ja") == peril_name("card_theft", "zh-CN")


def test_unknown_prompt_name_or_missing_value_is_a_key_error():
    # GIVEN a prompt name that does not exist, a missing reference, and an unknown peril
    # WHEN the prompt is asked for
    # THEN it is a KeyError
    with pytest.raises(KeyError):
        prompt("no_such_prompt", "en")
    with pytest.raises(KeyError):
        prompt("claim_created", "en")
    with pytest.raises(KeyError):
        prompt("menu", "en", perils=["volcano"])
