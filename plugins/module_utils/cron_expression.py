# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cron expressions of a schedule, checked the way Debian's (Vixie) cron reads them, and turned
into the fields of ansible.builtin.cron.

Five fields, minute hour day-of-month month day-of-week, each a `*` or a comma list of numbers
and ranges `a-b` (a <= b), where `*` and a range may take a step `/n` (n >= 1); or a single
month/day name (jan-dec, sun-sat, any case: `man 5 crontab` allows no range or list of names).
Or one of the specials @hourly @daily @midnight @weekly @monthly @yearly @annually (@reboot is
refused: it is no schedule). A `%` (cron turns it into a newline) and control characters are
refused anywhere.

Pure Python with no imports from Ansible: the wrapper validates `schedule set --cron` with it
and the schedule role builds its cron entry with it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

Field = namedtuple("Field", "name module_key low high names")
Field.__doc__ = """One field of a cron expression: its name for messages, the ansible.builtin.cron
option it fills, the allowed numbers (low-high) and the names it accepts (name -> number)."""

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FIELDS = (
    Field("minute", "minute", 0, 59, {}),
    Field("hour", "hour", 0, 23, {}),
    Field("day-of-month", "day", 1, 31, {}),
    Field("month", "month", 1, 12, {name: number for number, name in enumerate(MONTH_NAMES, 1)}),
    # 0 and 7 are both Sunday
    Field("day-of-week", "weekday", 0, 7, {name: number for number, name in enumerate(DAY_NAMES)}),
)
# special -> ansible.builtin.cron's special_time (its choices: annually daily hourly monthly
# reboot weekly yearly; @midnight is cron's other name for @daily)
SPECIALS = {
    "@hourly": "hourly",
    "@daily": "daily",
    "@midnight": "daily",
    "@weekly": "weekly",
    "@monthly": "monthly",
    "@yearly": "yearly",
    "@annually": "annually",
}
# one element of a list: `*` or a number or a range, then an optional step
ELEMENT_RE = re.compile(r"^(?:(?P<star>\*)|(?P<low>[0-9]+)(?:-(?P<high>[0-9]+))?)(?:/(?P<step>[0-9]+))?\Z")
# no field takes a number above 59: a longer one (more leading zeros) is out of range too
NUMBER_DIGITS = 3


def validate_cron(expression):
    """Return expression normalized (surrounding white space dropped, fields joined by single
    spaces) when it is a valid schedule (see the module docstring); raise ValueError with one
    line saying which field and value are wrong and what is allowed."""
    if not isinstance(expression, str):
        raise ValueError("the cron expression must be text, not %r" % (expression,))
    if "\n" in expression or "\r" in expression:
        raise ValueError("the cron expression must be one line (it has a line break)")
    if "%" in expression:
        raise ValueError("the cron expression must not contain '%' (cron turns it into a line break)")
    if any(not (32 <= ord(character) < 127 or character == "\t") for character in expression):
        raise ValueError("the cron expression must be printable ASCII (no control characters)")
    # cron separates fields by spaces and tabs only
    fields = [field for field in re.split(r"[ \t]+", expression) if field]
    if not fields:
        raise ValueError("the cron expression is empty: give five fields (minute hour day-of-month month "
                         "day-of-week) or one of %s" % ", ".join(SPECIALS))
    if fields[0].startswith("@"):
        return _validate_special(fields)
    if len(fields) != len(FIELDS):
        raise ValueError(
            "the cron expression %r has %d field%s: it takes five (minute hour day-of-month month day-of-week) "
            "or one of %s" % (" ".join(fields), len(fields), "" if len(fields) == 1 else "s", ", ".join(SPECIALS))
        )
    for index, field in enumerate(FIELDS):
        _validate_field(field, fields[index])
    return " ".join(fields)


def cron_module_fields(expression):
    """Return the ansible.builtin.cron options for a valid expression (validate_cron): {"minute",
    "hour", "day", "month", "weekday"} for five fields, {"special_time": ...} for a special
    (@midnight gives "daily"); raise ValueError as validate_cron does."""
    normalized = validate_cron(expression)
    if normalized.startswith("@"):
        return {"special_time": SPECIALS[normalized]}
    values = normalized.split(" ")
    return {field.module_key: values[index] for index, field in enumerate(FIELDS)}


def _validate_special(fields):
    """Return the special in fields (a list of one `@...` word); raise ValueError otherwise."""
    special = fields[0]
    if special == "@reboot":
        raise ValueError("@reboot is not a schedule (it runs once at boot): use one of %s or five fields"
                         % ", ".join(SPECIALS))
    if special not in SPECIALS:
        raise ValueError("%r is not a cron special: use one of %s (lowercase) or five fields"
                         % (special, ", ".join(SPECIALS)))
    if len(fields) > 1:
        raise ValueError("%s stands alone: %r follows it" % (special, " ".join(fields[1:])))
    return special


def _validate_field(field, value):
    """Check value, the text of one field; raise ValueError naming the field, the value and what
    is allowed."""
    where = "%s field %r" % (field.name, value)
    allowed = "%d-%d" % (field.low, field.high)
    if field.names and value.lower() in field.names:
        return
    if field.names and re.search(r"[A-Za-z]", value):
        if re.match(r"^[A-Za-z]+\Z", value):
            raise ValueError("%s: not a %s name (%s)" % (where, field.name, " ".join(sorted(
                field.names, key=field.names.get))))
        raise ValueError("%s: a name stands alone (no ranges, lists or steps of names); use numbers %s"
                         % (where, allowed))
    for element in value.split(","):
        _validate_element(field, where, allowed, element)


def _validate_element(field, where, allowed, element):
    """Check one element of a list (`*`, `n`, `a-b`, with `/step` after `*` or a range)."""
    if not element:
        raise ValueError("%s: empty list element (two commas, or one at an end)" % where)
    match = ELEMENT_RE.match(element)
    if not match:
        raise ValueError("%s: %r is not a number, range a-b, '*' or step like */15 (numbers %s)"
                         % (where, element, allowed))
    numbers = [match.group(name) for name in ("low", "high") if match.group(name) is not None]
    for number in numbers:
        if len(number) > NUMBER_DIGITS or not field.low <= int(number) <= field.high:
            raise ValueError("%s: %s is out of range (allowed %s)" % (where, number, allowed))
    if len(numbers) == 2 and int(numbers[0]) > int(numbers[1]):
        raise ValueError("%s: range %s-%s runs backwards (the start must not be above the end)"
                         % (where, numbers[0], numbers[1]))
    step = match.group("step")
    if step is not None:
        if len(numbers) == 1:
            raise ValueError("%s: a step needs '*' or a range before it, as in */%s or %s-%d/%s"
                             % (where, step, numbers[0], field.high, step))
        if len(step) > NUMBER_DIGITS or not 1 <= int(step) <= field.high:
            raise ValueError("%s: step %s is out of range (allowed 1-%d)" % (where, step, field.high))
