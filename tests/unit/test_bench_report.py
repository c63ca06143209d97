"""The table `make bench` prints (bench/report.py): medians, spreads, ratios and verdicts."""

from bench.report import HEADERS, Goal, Report, Row, spread


def test_a_row_shows_median_spread_ratio_goal_and_verdict():
    row = Row("P2", "backup create", ours=[3.0, 2.0, 4.0], baseline=[1.0, 1.5, 2.5], baseline_what="by hand",
              goals=(Goal(2.0),))

    assert row.ratio == 2.0
    assert row.cells() == ["P2", "backup create", "3", "3.00 s (2.00-4.00)", "1.50 s (1.00-2.50) by hand", "2.00x",
                           "<= 2x", "yes"]


def test_a_missed_goal_says_no_and_a_goal_on_the_value_ignores_the_ratio():
    slow = Row("P1", "upload", ours=[2.2], baseline=[2.0], goals=(Goal(1.05),))
    listing = Row("P4", "list", ours=[2.5, 2.9], baseline=[0.5], goals=(Goal(3, on="ours"),))
    memory = Row("P6", "rss", ours=[150.0], unit="MB", goals=(Goal(100, on="ours"), Goal(1.1)))

    assert (slow.verdict, listing.verdict, memory.verdict) == ("NO", "yes", "NO")
    assert slow.cells()[3:7] == ["2.20 s", "2.00 s", "1.10x", "<= 1.05x"]
    assert memory.cells()[3:7] == ["150 MB", "-", "-", "<= 100 MB and <= 1.1x"]


def test_a_pending_row_names_its_reason_and_a_row_without_goal_has_no_verdict():
    pending = Row("P5", "fleet", goals=(Goal(0.3),), pending="fleet command not on this branch")
    plain = Row("P3", "gzip", ours=[1.0], baseline=[2.0])

    assert pending.cells() == ["P5", "fleet", "-", "pending: fleet command not on this branch", "-", "-", "<= 0.3x",
                               "pending"]
    assert (plain.verdict, plain.cells()[5]) == ("-", "0.50x")


def test_spread_of_one_value_has_no_range_and_big_values_no_decimals():
    assert spread([], "s") == "-"
    assert spread([1.234], "s") == "1.23 s"
    assert spread([180.4, 120.0, 99.5], "MB") == "120 MB (100-180)"


def test_the_report_is_one_table_then_the_notes():
    report = Report()
    report.add(Row("P1", "upload", ours=[1.0], baseline=[1.0], goals=(Goal(1.05),)))
    report.note("P1", "sha256 0.5 s")

    lines = report.render().splitlines()

    assert lines[0].split()[:2] == HEADERS[:2]
    assert lines[1].startswith("P1   upload  1  1.00 s")
    assert lines[1].endswith("1.00x  <= 1.05x  yes")
    assert lines[2:] == ["", "Notes:", "  P1: sha256 0.5 s"]
