"""Cron expressions of a schedule (plugins/module_utils/cron_expression.py): what Debian's cron
reads is accepted and normalized, anything else is refused in one line naming the field."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.infrakt.backup.plugins.module_utils import cron_expression
from ansible_collections.infrakt.backup.plugins.module_utils.cron_expression import (
    FIELDS,
    cron_module_fields,
    validate_cron,
)


@pytest.mark.parametrize(
    ("expression", "normalized"),
    [
        ("* * * * *", "* * * * *"),
        ("  15\t2  * * *  ", "15 2 * * *"),
        ("*/15 0-23/2 1,15 * 1-5", "*/15 0-23/2 1,15 * 1-5"),
        ("0 22 * * 1-5", "0 22 * * 1-5"),
        ("23 0-23/2 * * *", "23 0-23/2 * * *"),
        ("5 4 * * sun", "5 4 * * sun"),
        ("0 3 1 JAN Mon", "0 3 1 JAN Mon"),
        ("1-3,7-9 * * * *", "1-3,7-9 * * * *"),
        ("0 0 * * 7", "0 0 * * 7"),
        ("0 0 * * 0-7/7", "0 0 * * 0-7/7"),
        ("59 23 31 12 6", "59 23 31 12 6"),
        ("05 04 * * *", "05 04 * * *"),
        ("*/59 */23 */31 */12 */7", "*/59 */23 */31 */12 */7"),
        ("@hourly", "@hourly"),
        (" @daily ", "@daily"),
        ("@midnight", "@midnight"),
        ("@weekly", "@weekly"),
        ("@monthly", "@monthly"),
        ("@yearly", "@yearly"),
        ("@annually", "@annually"),
    ],
)
def test_valid_expressions_are_normalized(expression, normalized):
    assert validate_cron(expression) == normalized


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("* * * *", "has 4 fields: it takes five"),
        ("* * * * * *", "has 6 fields"),
        ("0 3 * * * /usr/bin/backup", "has 6 fields"),
        ("60 * * * *", "minute field '60': 60 is out of range (allowed 0-59)"),
        ("* 24 * * *", "hour field '24': 24 is out of range (allowed 0-23)"),
        ("* * 0 * *", "day-of-month field '0': 0 is out of range (allowed 1-31)"),
        ("* * 32 * *", "day-of-month field '32'"),
        ("* * * 0 *", "month field '0': 0 is out of range (allowed 1-12)"),
        ("* * * 13 *", "month field '13'"),
        ("* * * * 8", "day-of-week field '8': 8 is out of range (allowed 0-7)"),
        ("5-1 * * * *", "range 5-1 runs backwards"),
        ("*/0 * * * *", "step 0 is out of range (allowed 1-59)"),
        ("*/60 * * * *", "step 60 is out of range"),
        ("5/10 * * * *", "a step needs '*' or a range before it"),
        ("1,,2 * * * *", "empty list element"),
        ("1, * * * *", "empty list element"),
        (",1 * * * *", "empty list element"),
        ("*-5 * * * *", "'*-5' is not a number, range a-b"),
        ("1-2-3 * * * *", "'1-2-3' is not a number"),
        ("-1 * * * *", "'-1' is not a number"),
        ("*/ * * * *", "'*/' is not a number"),
        ("a * * * *", "minute field 'a'"),
        ("0 0 * * mon-fri", "a name stands alone"),
        ("0 0 * jan,feb *", "a name stands alone"),
        ("0 0 * * 1,sun", "a name stands alone"),
        ("0 0 * jan/2 *", "a name stands alone"),
        ("0 0 * * sunday", "not a day-of-week name (sun mon tue wed thu fri sat)"),
        ("0 0 * sun *", "not a month name"),
        ("0 0 jan * *", "day-of-month field 'jan'"),
        ("0005 * * * *", "0005 is out of range"),
        ("@reboot", "@reboot is not a schedule"),
        ("@Daily", "'@Daily' is not a cron special"),
        ("@every 5m", "is not a cron special"),
        ("@daily 0", "@daily stands alone"),
        ("* * * * *\n* * * * *", "one line"),
        ("* * * * *\r", "one line"),
        ("0 1 % * *", "'%'"),
        ("* * * * * %", "'%'"),
        ("*\x00 * * * *", "printable ASCII"),
        ("\u00a0* * * * *", "printable ASCII"),
        ("٣ * * * *", "printable ASCII"),
    ],
)
def test_invalid_expressions_are_refused_in_one_line(expression, message):
    with pytest.raises(ValueError) as raised:
        validate_cron(expression)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("value", [None, 5, ["*"] * 5])
def test_only_text_is_an_expression(value):
    with pytest.raises(ValueError, match="must be text"):
        validate_cron(value)


def test_module_fields_for_five_fields():
    assert cron_module_fields(" 30 4\t1,15 * 5 ") == {
        "minute": "30", "hour": "4", "day": "1,15", "month": "*", "weekday": "5",
    }


@pytest.mark.parametrize(
    ("special", "special_time"),
    [("@hourly", "hourly"), ("@daily", "daily"), ("@midnight", "daily"), ("@weekly", "weekly"),
     ("@monthly", "monthly"), ("@yearly", "yearly"), ("@annually", "annually")],
)
def test_module_fields_for_specials(special, special_time):
    assert cron_module_fields(special) == {"special_time": special_time}


def test_special_times_are_choices_of_the_cron_module():
    from ansible.modules import cron

    choices = re.search(r"special_time:.*?choices: \[ ([a-z, ]+) \]", cron.DOCUMENTATION, re.S).group(1)
    assert set(cron_expression.SPECIALS.values()) <= {choice.strip() for choice in choices.split(",")}


def test_module_fields_refuse_what_validation_refuses():
    with pytest.raises(ValueError, match="@reboot"):
        cron_module_fields("@reboot")


# --- properties -------------------------------------------------------------------------------


def expand(field, text):
    """The values field text (already accepted) stands for, computed independently of the
    module: a reference for the properties below."""
    if text.lower() in field.names:
        return {field.names[text.lower()]}
    values = set()
    for element in text.split(","):
        spec, _, step = element.partition("/")
        if spec == "*":
            low, high = field.low, field.high
        else:
            low, _, high = spec.partition("-")
            low, high = int(low), int(high or low)
        values |= set(range(low, high + 1, int(step or 1)))
    return values


def field_text(field):
    """A strategy of valid texts for field: a name, or a list of `*`, numbers and ranges with steps."""
    number = st.integers(field.low, field.high)
    star = st.builds(lambda step: "*" + (f"/{step}" if step else ""), st.none() | st.integers(1, field.high))
    single = number.map(str)
    ranged = st.builds(
        lambda a, b, step: f"{min(a, b)}-{max(a, b)}" + (f"/{step}" if step else ""),
        number, number, st.none() | st.integers(1, field.high),
    )
    listed = st.lists(star | single | ranged, min_size=1, max_size=4).map(",".join)
    if not field.names:
        return listed
    names = st.sampled_from(sorted(field.names)).flatmap(
        lambda name: st.sampled_from([name, name.upper(), name.capitalize()]))
    return listed | names


valid_fields = st.tuples(*(field_text(field) for field in FIELDS))
separators = st.lists(st.sampled_from([" ", "  ", "\t", " \t "]), min_size=6, max_size=6)


@given(valid_fields, separators)
def test_valid_fields_round_trip(fields, spaces):
    expression = spaces[0] + "".join(field + space for field, space in zip(fields, spaces[1:], strict=False))
    normalized = validate_cron(expression)
    assert normalized == " ".join(fields)
    assert validate_cron(normalized) == normalized
    module_fields = cron_module_fields(expression)
    assert [module_fields[field.module_key] for field in FIELDS] == list(fields)
    for field, text in zip(FIELDS, fields, strict=True):
        assert expand(field, text) <= set(range(field.low, field.high + 1))


def out_of_range(field):
    """A strategy of numbers outside field's range (two digits at most: cron's own numbers)."""
    return st.integers(0, 99).filter(lambda number: not field.low <= number <= field.high)


@st.composite
def broken_fields(draw):
    """Five fields of which one is broken in one way the module must catch; return (fields, index)."""
    fields = list(draw(valid_fields))
    index = draw(st.integers(0, 4))
    field = FIELDS[index]
    bad = draw(st.one_of(
        out_of_range(field).map(str),
        st.tuples(st.integers(field.low, field.high), out_of_range(field)).map(lambda pair: "{}-{}".format(*pair)),
        st.tuples(st.integers(field.low + 1, field.high), st.integers(field.low, field.high)).filter(
            lambda pair: pair[0] > pair[1]).map(lambda pair: "{}-{}".format(*pair)),
        st.just("*/0"),
        st.integers(field.high + 1, 99).map(lambda step: f"*/{step}"),
        st.integers(field.low, field.high).map(lambda number: f"{number}/2"),
        st.sampled_from(["", ",", "1,", ",1", "*,", "1--2", "*-*", "**", "1/", "/1", "x", "1 x"]).map(
            lambda text: text.replace(" ", "")),
    ))
    fields[index] = bad
    return fields, index


@given(broken_fields())
def test_a_broken_field_never_passes(broken):
    fields, index = broken
    # an empty field is a field gone: four fields
    expected = "fields" if fields[index] == "" else f"{FIELDS[index].name} field "
    with pytest.raises(ValueError) as raised:
        validate_cron(" ".join(fields))
    assert expected in str(raised.value) and "\n" not in str(raised.value)


@given(st.text(alphabet=st.sampled_from("0123456789*/-,@ \tjanmonSUNx%\n"), max_size=30) | st.text(max_size=30))
def test_whatever_passes_stands_for_values_in_range(text):
    try:
        normalized = validate_cron(text)
    except ValueError as error:
        assert "\n" not in str(error)
        return
    if normalized.startswith("@"):
        assert normalized in cron_expression.SPECIALS
        return
    fields = normalized.split(" ")
    assert len(fields) == 5
    for field, value in zip(FIELDS, fields, strict=True):
        values = expand(field, value)
        assert values and values <= set(range(field.low, field.high + 1))
