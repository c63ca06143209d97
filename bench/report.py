"""The one table `make bench` prints: a row per measurement, its rounds' median and spread
(min–max) next to the baseline measured in the same run, the ratio of the medians, the goal
and whether it is met; notes (fixed costs, stage timings, sizes) follow the table."""

import statistics
from dataclasses import dataclass, field

from infrakt_backup.output import table

HEADERS = ["ROW", "WHAT", "N", "OURS median (min-max)", "BASELINE median (min-max)", "RATIO", "GOAL", "MET"]


@dataclass(frozen=True)
class Goal:
    """A limit on a row: on its ratio (`on="ratio"`, ours median / baseline median) or on its
    own median (`on="ours"`, in the row's unit)."""

    limit: float
    on: str = "ratio"

    def value(self, row: "Row") -> float | None:
        """Return what the goal limits for row (None: a ratio without a baseline)."""
        return row.ratio if self.on == "ratio" else row.ours_median

    def met(self, row: "Row") -> bool:
        """True when the row's value is at most the limit."""
        value = self.value(row)
        return value is not None and value <= self.limit

    def text(self, unit: str) -> str:
        """Return the goal as the table shows it: `<= 1.05x`, `<= 3 s`."""
        return f"<= {self.limit:g}x" if self.on == "ratio" else f"<= {self.limit:g} {unit}"


@dataclass
class Row:
    """One measurement: `ours` and `baseline` are the values of each round (seconds, or the
    row's unit); `pending` (a reason) stands for a row that could not be measured."""

    key: str
    what: str
    ours: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    baseline_what: str = ""
    goals: tuple[Goal, ...] = ()
    unit: str = "s"
    pending: str | None = None

    @property
    def ours_median(self) -> float | None:
        return statistics.median(self.ours) if self.ours else None

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None

    @property
    def ratio(self) -> float | None:
        """Return ours median / baseline median, None without both."""
        if self.ours_median is None or not self.baseline_median:
            return None
        return self.ours_median / self.baseline_median

    @property
    def verdict(self) -> str:
        """Return "pending", "-" (no goal), "yes" or "NO"."""
        if self.pending:
            return "pending"
        if not self.goals:
            return "-"
        return "yes" if all(goal.met(self) for goal in self.goals) else "NO"

    def cells(self) -> list[str]:
        """Return the row's table cells, in HEADERS order."""
        goal = " and ".join(goal.text(self.unit) for goal in self.goals) or "-"
        if self.pending:
            return [self.key, self.what, "-", f"pending: {self.pending}", "-", "-", goal, self.verdict]
        baseline = spread(self.baseline, self.unit)
        if self.baseline_what and self.baseline:
            baseline += f" {self.baseline_what}"
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "-"
        return [self.key, self.what, str(len(self.ours)), spread(self.ours, self.unit), baseline, ratio, goal,
                self.verdict]


def spread(values: list[float], unit: str) -> str:
    """Return `median unit (min-max)` of values ('-' for none, no range for one value), with
    two decimals, or none when a value reaches 100 (an RSS in MB, a long run)."""
    if not values:
        return "-"
    decimals = 2 if max(abs(value) for value in values) < 100 else 0
    text = f"{statistics.median(values):.{decimals}f} {unit}"
    return text if len(values) == 1 else f"{text} ({min(values):.{decimals}f}-{max(values):.{decimals}f})"


@dataclass
class Report:
    """What the rows measured so far: rows in order, and notes by row key."""

    rows: list[Row] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def note(self, key: str, text: str) -> None:
        self.notes.append((key, text))

    def render(self) -> str:
        """Return the table, then one `KEY: note` line per note."""
        lines = [table(HEADERS, [row.cells() for row in self.rows])]
        if self.notes:
            lines += ["", "Notes:"] + [f"  {key}: {text}" for key, text in self.notes]
        return "\n".join(lines)
