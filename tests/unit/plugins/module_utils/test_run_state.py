"""run_state.py: the per-database lock and status file both backup paths share, and the
scheduled run's config check and log."""

import json
import multiprocessing
import os
import time

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import run_state, scheduled_run


def _hold_lock(state_dir, db_name, seconds, ready):
    with run_state.database_lock(state_dir, db_name):
        ready.set()
        time.sleep(seconds)


def test_a_held_lock_is_refused_at_once_or_after_the_wait(tmp_path):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(tmp_path), "shop", 1.5, ready))
    holder.start()
    assert ready.wait(10)
    with (pytest.raises(run_state.Locked, match="another backup of shop is still running"),
          run_state.database_lock(str(tmp_path), "shop")):
        pass
    began = time.monotonic()
    with run_state.database_lock(str(tmp_path), "shop", wait=10):  # the holder ends within 1.5 s
        assert time.monotonic() - began < 10
    holder.join()
    assert oct(os.stat(tmp_path / "shop.lock").st_mode & 0o777) == "0o600"


def test_a_killed_holder_releases_the_lock(tmp_path):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(tmp_path), "shop", 60, ready))
    holder.start()
    assert ready.wait(10)
    holder.kill()
    holder.join()
    with run_state.database_lock(str(tmp_path), "shop"):
        pass


def test_status_updates_merge_and_are_private(tmp_path):
    run_state.record_status(str(tmp_path), "shop", result="success", last_success="2026-12-01T03:00:00Z", size=5)
    run_state.record_status(str(tmp_path), "shop", result="failed", error="boom")
    status = run_state.read_status(str(tmp_path), "shop")
    assert (status["result"], status["last_success"], status["size"], status["error"]) == (
        "failed", "2026-12-01T03:00:00Z", 5, "boom")
    assert oct(os.stat(tmp_path / "shop.json").st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(ValueError, match="unknown status fields: colour"):
        run_state.record_status(str(tmp_path), "shop", colour="red")


def test_a_broken_status_file_is_an_error_to_read_and_replaced_on_write(tmp_path):
    (tmp_path / "shop.json").write_text("{half")
    with pytest.raises(ValueError, match="not valid JSON"):
        run_state.read_status(str(tmp_path), "shop")
    run_state.record_status(str(tmp_path), "shop", result="success")
    assert json.loads((tmp_path / "shop.json").read_text())["result"] == "success"


@pytest.mark.parametrize("db_name", ["../etc", "a/b", ""])
def test_state_file_names_are_validated(tmp_path, db_name):
    with pytest.raises(ValueError):
        run_state.status_path(str(tmp_path), db_name)


def test_a_config_others_can_read_is_refused(tmp_path):
    config = tmp_path / "shop.json"
    config.write_text(json.dumps({"db_name": "shop", "connection": {"engine": "postgres"}}))
    config.chmod(0o644)
    with pytest.raises(ValueError, match="mode 0600"):
        scheduled_run.load_config(str(config))
    config.chmod(0o600)
    assert scheduled_run.load_config(str(config))["db_name"] == "shop"
    assert scheduled_run.main([str(tmp_path / "missing.json")]) == scheduled_run.EXIT_BAD_CONFIG


def test_the_log_is_capped_with_one_older_generation(tmp_path, monkeypatch):
    monkeypatch.setattr(scheduled_run, "LOG_MAX_BYTES", 100)
    log = scheduled_run.RunLog(str(tmp_path), "shop")
    for number in range(20):
        log.write(f"line {number}")
    assert (tmp_path / "shop.log").stat().st_size <= 100 + 40
    assert (tmp_path / "shop.log.1").exists()
    assert log.tail().splitlines()[-1].endswith("line 19")
