"""What the actions return for store entries, for the CLI and the web page alike: plain dicts
with ISO-8601 UTC times and the secrets masked or reduced to whether one is stored.

The entry classes in store.py are the one definition of these shapes: a field's name is its
key, the field order the key order, and a secret field's metadata says how it is shown.
"""

from dataclasses import fields
from datetime import UTC, datetime

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files

VISIBLE_SECRET_TAIL = 4
# A secret this short would be mostly given away by its last four characters.
SHORTEST_SECRET_WITH_TAIL = 12


def mask_secret(secret: str | None) -> str | None:
    """Return `****` followed by the secret's last 4 characters (only `****` for a secret
    shorter than 12 characters); None for no secret."""
    if secret is None:
        return None
    if len(secret) < SHORTEST_SECRET_WITH_TAIL:
        return "****"
    return "****" + secret[-VISIBLE_SECRET_TAIL:]


def iso_utc(moment: datetime | None) -> str | None:
    """Return an aware datetime as ISO-8601 UTC with a Z, to the second (`2026-11-24T21:05:09Z`),
    in the collection's format; None for None."""
    return backup_files.iso_utc(moment.astimezone(UTC)) if moment is not None else None


def entry_dict(entry) -> dict:
    """Return store entry `entry` (S3Settings, ServerEntry, DatabaseEntry) as a JSON-ready dict
    in field order: datetimes as iso_utc, a SET_ONLY_SECRET field only as `<field>_set`
    (whether one is stored), any other secret field (MASKED_SECRET) masked (mask_secret)."""
    # imported here: output.py needs iso_utc for every command, store.py loads SQLAlchemy
    from infrakt_backup.store import SET_ONLY_SECRET

    shown = {}
    for item in fields(entry):
        value = getattr(entry, item.name)
        if item.metadata == SET_ONLY_SECRET:
            shown[f"{item.name}_set"] = value is not None
        elif item.metadata.get("secret"):  # MASKED_SECRET, and any secret: never shown whole
            shown[item.name] = mask_secret(value)
        elif isinstance(value, datetime):
            shown[item.name] = iso_utc(value)
        else:
            shown[item.name] = value
    return shown
