"""Property-based tests of the identity normalisers (chalicelib.domain.identity): every way a customer
writes the same phone, plate or policy number gives one stored form; anything else gives None."""
from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.domain.identity import normalise_phone, normalise_plate, normalise_policy_number

FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}  # '0' -> '０', 'A' -> 'Ａ', '-' -> '－'


def full_width(text: str, which: list[bool]) -> str:
    return "".join(FULL_WIDTH.get(ch, ch) if flip else ch for ch, flip in zip(text, which, strict=True))


@st.composite
def with_separators(draw, text: str, separators: str, start: int = 0) -> str:
    """``text`` with runs of separators inserted between characters from position ``start`` on."""
    run = st.text(alphabet=separators, max_size=2)
    out = text[:start + 1]
    for ch in text[start + 1:]:
        out += draw(run) + ch
    return out


@st.composite
def maybe_full_width(draw, text: str) -> str:
    return full_width(text, draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text))))


# -- phone -----------------------------------------------------------------------------------------

CN_MOBILE = "+8613800138000"


@pytest.mark.parametrize("written", ["138 0013 8000", "+86 138-0013-8000", "8613800138000", "+8613800138000",
                                     "13800138000", " 138-0013-8000 ", "＋８６ １３８ ００１３ ８０００",
                                     "+86 (138) 0013 8000", "86 138 0013 8000"])
def test_the_ways_people_write_one_mobile_number_give_one_e164(written):
    # GIVEN one Chinese mobile number written as customers and partners write it
    # WHEN it is normalised
    # THEN it is the one E.164 form that is stored and looked up
    assert normalise_phone(written) == CN_MOBILE


mobiles = st.builds(lambda prefix, rest: prefix + rest,
                    st.sampled_from(["130", "133", "135", "136", "137", "138", "139", "150", "158", "177",
                                     "186", "188", "199"]),
                    st.text(alphabet="0123456789", min_size=8, max_size=8))


@given(data=st.data(), national=mobiles, form=st.sampled_from(["national", "plus", "bare86"]))
def test_any_mobile_with_random_spaces_hyphens_and_full_width_digits_normalises_the_same(data, national, form):
    # GIVEN a valid CN mobile number, in national form, with +86 or with a bare 86
    canonical = normalise_phone(national)
    assert canonical == f"+86{national}"
    written = {"national": national, "plus": f"+86{national}", "bare86": f"86{national}"}[form]
    # AND spaces and hyphens inserted anywhere after the first character, some digits full width
    written = data.draw(with_separators(written, " -", start=1 if form == "plus" else 0))
    written = data.draw(maybe_full_width(written))

    # WHEN it is normalised
    # THEN it is the same E.164 number
    assert normalise_phone(written) == canonical


@given(st.text(max_size=300))
@example("+")
@example("86")
@example("8" * 300)
@example("+86 ０")
@example("\x00\ud7ff")
def test_any_text_normalises_to_e164_or_none_and_never_raises(text):
    # GIVEN any text at all
    # WHEN it is normalised as a phone number
    result = normalise_phone(text)

    # THEN it is None or an E.164 number
    assert result is None or (result.startswith("+") and result[1:].isdigit() and len(result) <= 16)


@given(st.text(max_size=40))
def test_phone_normalisation_is_idempotent(text):
    # GIVEN whatever a phone normalises to
    first = normalise_phone(text)
    # WHEN that is normalised again
    # THEN nothing changes
    if first is not None:
        assert normalise_phone(first) == first


@pytest.mark.parametrize("value", [None, "", "   ", "12345", "138001380001234", "not a phone"])
def test_what_is_not_a_phone_number_is_none(value):
    assert normalise_phone(value) is None


# -- plate -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["沪A·12345", "沪a 12345", "沪A12345", "沪A-12345", "沪Ａ１２３４５",
                                     " 沪 A 1 2 3 4 5 ", "沪ａ．12345", "沪A•12345"])
def test_the_ways_people_write_one_plate_give_one_form(written):
    # GIVEN one plate written with a middle dot, lower case, separators or full-width characters
    # WHEN it is normalised
    # THEN it is the plate without separators, upper case
    assert normalise_plate(written) == "沪A12345"


@pytest.mark.parametrize("written", ["沪AD12345", "沪A·D12345", "沪ad 12345", "沪ＡＤ１２３４５"])
def test_new_energy_plates_of_eight_characters_normalise_too(written):
    assert normalise_plate(written) == "沪AD12345"


PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # no I or O on plates
plates = st.builds(lambda province, office, rest: province + office + rest,
                   st.sampled_from(PROVINCES), st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ"),
                   st.text(alphabet=PLATE_CHARS, min_size=5, max_size=6))


@given(data=st.data(), plate=plates, lower=st.booleans())
def test_any_plate_with_separators_case_and_full_width_normalises_to_one_form(data, plate, lower):
    # GIVEN a valid 7-character plate or 8-character new-energy plate
    canonical = normalise_plate(plate)
    assert canonical == plate
    # AND the same plate written with random separators, lower case letters, full-width characters
    written = plate.lower() if lower else plate
    written = data.draw(with_separators(written, " ·-•._．"))
    written = data.draw(maybe_full_width(written))

    # WHEN it is normalised
    # THEN it is the canonical plate
    assert normalise_plate(written) == canonical


@given(st.text(max_size=60))
@example("沪")
@example("沪A1234567")
@example("·····")
def test_any_text_normalises_to_a_plate_or_none_and_never_raises(text):
    # GIVEN any text
    # WHEN it is normalised as a plate
    result = normalise_plate(text)

    # THEN it is None or a plate of 7 or 8 characters with no separators, and stable
    if result is not None:
        assert len(result) in (7, 8) and result == result.upper() and " " not in result
        assert normalise_plate(result) == result


@pytest.mark.parametrize("value", [None, "", "A12345", "沪A1234", "沪A123456789", "沪AI2345", "XYZ"])
def test_what_is_not_a_plate_is_none(value):
    assert normalise_plate(value) is None


# -- policy number -----------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["PA2026000123", "pa2026000123", " PA2026000123 ", "PA 2026 000123",
                                     "ＰＡ２０２６０００１２３", "Pa2026000123\n"])
def test_policy_numbers_are_case_and_whitespace_tolerant(written):
    assert normalise_policy_number(written) == "PA2026000123"


@given(number=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=4, max_size=40),
       data=st.data())
def test_any_policy_number_in_any_case_with_whitespace_normalises_to_upper_case(number, data):
    # GIVEN a policy number of letters and digits
    # AND the same number in mixed case with whitespace around and inside it
    flips = data.draw(st.lists(st.booleans(), min_size=len(number), max_size=len(number)))
    written = "".join(ch.lower() if flip else ch for ch, flip in zip(number, flips, strict=True))
    written = data.draw(with_separators(written, " \t")) + data.draw(st.text(alphabet=" \t\n", max_size=2))

    # WHEN it is normalised
    # THEN it is the upper-case number without whitespace
    assert normalise_policy_number(written) == number


@given(st.text(max_size=60))
def test_any_text_normalises_to_a_policy_number_or_none_and_never_raises(text):
    result = normalise_policy_number(text)
    if result is not None:
        assert result == result.upper() and not any(ch.isspace() for ch in result)
        assert normalise_policy_number(result) == result


@pytest.mark.parametrize("value", [None, "", "   ", "P1", "-PA2026", "PA#2026000123", "P" * 41])
def test_what_is_not_a_policy_number_is_none(value):
    assert normalise_policy_number(value) is None
