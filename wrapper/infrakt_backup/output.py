"""How cli.py prints things: aligned tables, sizes, times, masked secrets, JSON."""

import json
from datetime import UTC, datetime

SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
VISIBLE_SECRET_TAIL = 4
# A secret this short would be mostly given away by its last four characters.
SHORTEST_SECRET_WITH_TAIL = 12


def table(headers: list[str], rows: list[list]) -> str:
    """Return rows under headers as plain text columns, separated by two spaces (None → '-')."""
    cells = [[str(value) if value is not None else "-" for value in row] for row in rows]
    widths = [max(len(column) for column in values) for values in zip(headers, *cells, strict=False)]
    lines = ["  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
             for line in [headers, *cells]]
    return "\n".join(lines)


def labelled(pairs: list[tuple[str, object]], indent: str = "") -> str:
    """Return `Label:  value` lines with the values aligned (None → '-')."""
    width = max(len(label) for label, _ in pairs) + 1
    return "\n".join(
        f"{indent}{(label + ':').ljust(width)}  {value if value is not None else '-'}" for label, value in pairs
    )


def human_size(size: int | None) -> str:
    """Return a byte count the way people read it: `512 B`, `1.5 KiB`, `3.2 GiB` ('-' for None)."""
    if size is None:
        return "-"
    value, unit = float(size), 0
    while value >= 1024 and unit < len(SIZE_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{size} B" if unit == 0 else f"{value:.1f} {SIZE_UNITS[unit]}"


def mask_secret(secret: str | None) -> str | None:
    """Return `****` followed by the secret's last 4 characters (only `****` for a secret
    shorter than 12 characters); None for no secret."""
    if secret is None:
        return None
    if len(secret) < SHORTEST_SECRET_WITH_TAIL:
        return "****"
    return "****" + secret[-VISIBLE_SECRET_TAIL:]


def iso_utc(moment: datetime | None) -> str | None:
    """Return an aware datetime as ISO-8601 UTC with a Z, to the second (`2026-11-24T21:05:09Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def readable_utc(moment: datetime | None) -> str:
    """Return an aware datetime for people: `2026-11-24 21:05:09 UTC` ('-' for None)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "-"


def to_json(data) -> str:
    """Return data as indented JSON; datetimes become ISO-8601 UTC strings."""

    def encode(value):
        if isinstance(value, datetime):
            return iso_utc(value)
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(data, indent=2, ensure_ascii=False, default=encode)
