"""How cli.py prints things: aligned tables, sizes, times, JSON. What the actions return is
already JSON-ready (json_ready.py): secrets masked, times ISO-8601 UTC."""

import json
from datetime import UTC, datetime

from infrakt_backup.json_ready import iso_utc

SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def table(headers: list[str], rows: list[list]) -> str:
    """Return rows under headers as plain text columns, separated by two spaces (None → '-')."""
    cells = [[str(value) if value is not None else "-" for value in row] for row in rows]
    widths = [max(len(column) for column in values) for values in zip(headers, *cells, strict=False)]
    lines = ["  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
             for line in [headers, *cells]]
    return "\n".join(lines)


def table_of(items: list[dict], columns: dict[str, str]) -> str:
    """Return items as a table: one column per header of `columns`, holding each item's value
    under the key that header names."""
    return table(list(columns), [[item[key] for key in columns.values()] for item in items])


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
