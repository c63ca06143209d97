"""progress.py: the fleet count, the status line and the terminal's Ticker (a StringIO stands
in for the terminal, a list of times for the clock)."""

import io

from infrakt_backup.progress import CLEAR_LINE, Ticker, elapsed_text, fleet_count, status_line


def test_fleet_count_and_elapsed_time_texts():
    assert fleet_count(3, 1, 16) == "3/16 done, 1 failed, 12 running"
    assert fleet_count(0, 0, 2) == "0/2 done, 0 failed, 2 running"
    assert [elapsed_text(seconds) for seconds in (0.4, 12.9, 60, 125.5)] == ["0 s", "12 s", "1 min 00 s",
                                                                            "2 min 05 s"]


def test_status_line_holds_task_time_and_count_and_never_wraps():
    assert status_line("… Dump sample", 12.3, None, 80) == "… Dump sample (12 s)"
    count = fleet_count(3, 1, 16)
    assert status_line("… Dump the databases", 5, count, 80) == f"… Dump the databases (5 s) · {count}"
    assert status_line(None, 0, count, 80) == count
    cut = status_line("… Dump the databases", 5, count, 20)
    assert len(cut) == 20 and cut.endswith("…")


def test_ticker_rewrites_one_line_and_leaves_each_finished_task_as_a_line():
    times = iter([0.0, 0.0, 3.0, 3.0, 3.0, 4.0, 9.0, 9.0, 9.0])
    terminal = io.StringIO()
    ticker = Ticker(terminal, interval=3600, clock=lambda: next(times))
    ticker("… Write temporary S3 credentials")
    ticker("… Dump the databases")
    ticker("1/2 done, 0 failed, 1 running")
    ticker("ansible says something at -v")
    ticker.close()
    assert terminal.getvalue().split(CLEAR_LINE)[1:] == [
        "… Write temporary S3 credentials (0 s)",
        "… Write temporary S3 credentials (3 s)\n",
        "… Dump the databases (0 s)",
        "… Dump the databases (1 s) · 1/2 done, 0 failed, 1 running",
        "ansible says something at -v\n",
        "… Dump the databases (6 s) · 1/2 done, 0 failed, 1 running",
        "… Dump the databases (6 s) · 1/2 done, 0 failed, 1 running\n",
    ]


def test_ticker_draws_nothing_before_the_first_message():
    terminal = io.StringIO()
    ticker = Ticker(terminal)
    ticker.close()
    assert terminal.getvalue() == ""
