"""One module per thing a user asks for. Each action takes the Store first, validates its
input where it enters (nothing before it does), and returns plain data (dicts, lists) that
cli.py prints as text or JSON and the web page will send as JSON; it never prints, and what
it needs asked on the way comes as a callback. Actions that run a play start from remote.py.

Input checks come from the collection's names.py, so the wrapper refuses exactly what the
modules on the server would; they raise ValueError with a one-line message, and `validated`
turns that into BadInput (exit code 2).
"""

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.errors import BadInput

# How many servers a run works on at once (ansible-playbook --forks), unless told.
DEFAULT_FORKS = 10


def validated(validator, *args):
    """Return validator(*args); raise BadInput with its message when it raises ValueError."""
    try:
        return validator(*args)
    except ValueError as error:
        raise BadInput(str(error)) from None


def timeout_variables(timeout: int | None, lock_timeout: int | None) -> dict:
    """Return the playbook variables for the timeouts a user gave (seconds; None: the modules'
    defaults, 6 hours for a whole dump or restore and 60 s for a lock); raise BadInput for a
    value that is not a whole number of seconds, at least 1."""
    given = {"infrakt_db_timeout": (timeout, "timeout"), "infrakt_db_lock_timeout": (lock_timeout, "lock timeout")}
    return {name: validated(names.validate_seconds, value, what)
            for name, (value, what) in given.items() if value is not None}


def validate_forks(forks) -> int:
    """Return forks, how many servers a run works on at once; raise BadInput unless it is a
    whole number, at least 1."""
    if isinstance(forks, bool) or not isinstance(forks, int) or forks < 1:
        raise BadInput(f"the number of servers at once (forks) must be a whole number, at least 1, not {forks!r}")
    return forks


validate_port = names.validate_port
validate_host = names.validate_host
validate_absolute_path = names.validate_absolute_path
validate_single_line = names.validate_single_line
