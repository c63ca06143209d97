"""Private run directories for secret files (plugins/module_utils/tmpfs.py), in a temp dir."""

import os
import shutil
import stat
import subprocess
import threading
import time

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import tmpfs

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /run/user/1000 tmpfs rw,nosuid,nodev,relatime,size=1630404k,mode=700,uid=1000 0 0
tmpfs /mnt/with\\040space tmpfs rw 0 0
"""


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_mount_points_are_read_from_proc_mounts():
    assert [point for point, file_system in tmpfs.mounts(MOUNTS) if file_system == "tmpfs"] == [
        "/dev/shm", "/run/user/1000", "/mnt/with space"]


@pytest.mark.parametrize(
    ("path", "on_tmpfs"),
    [
        ("/dev/shm", True),
        ("/dev/shm/infrakt-run-1-x", True),
        ("/dev/shmother", False),  # a sibling whose name starts like the mount point
        ("/run/user/1000/infrakt", True),
        ("/mnt/with space/x", True),
        ("/tmp", False),
        ("/", False),
    ],
)
def test_is_on_tmpfs_takes_the_mount_that_holds_the_path(path, on_tmpfs):
    assert tmpfs.is_on_tmpfs(path, MOUNTS) is on_tmpfs


def test_a_later_mount_on_the_same_point_hides_the_tmpfs():
    """A disk directory bind-mounted over /dev/shm: /proc/mounts lists it after the tmpfs."""
    assert not tmpfs.is_on_tmpfs("/dev/shm/x", MOUNTS + "/dev/vda /dev/shm ext4 rw 0 0\n")


RUN_TMPFS = "tmpfs /run tmpfs rw 0 0\n"
NO_TMPFS = "/dev/vda / ext4 rw,relatime 0 0\n"


@pytest.mark.parametrize(
    ("mounts", "euid", "base"),
    [
        (MOUNTS + RUN_TMPFS, 0, "/run/infrakt"),
        (MOUNTS, 0, "/dev/shm/infrakt"),  # this machine: /run is not a tmpfs
        (MOUNTS + RUN_TMPFS, 1000, "/run/user/1000/infrakt"),
        (NO_TMPFS + RUN_TMPFS + "tmpfs /dev/shm tmpfs rw 0 0\n", 1000, "/dev/shm/infrakt-1000"),
    ],
)
def test_base_dir_is_on_tmpfs_and_private_to_the_user(mounts, euid, base):
    assert tmpfs.choose_base_dir(mounts, euid) == base


DISK_REFUSAL = ("not on a tmpfs; refusing to write secrets to a disk"
                " (allow_secrets_on_disk, playbook variable infrakt_allow_secrets_on_disk: true, allows it)")


@pytest.mark.parametrize(
    ("mounts", "euid", "refused"),
    [
        (NO_TMPFS, 0, "/run/infrakt and /dev/shm/infrakt are"),
        (MOUNTS + "/dev/vda /dev/shm ext4 rw 0 0\n", 0, "/run/infrakt and /dev/shm/infrakt are"),  # disk over /dev/shm
        (NO_TMPFS, 1000, "/run/user/1000/infrakt and /dev/shm/infrakt-1000 are"),
    ],
)
def test_without_a_tmpfs_the_base_dir_is_refused_in_one_line(mounts, euid, refused):
    with pytest.raises(ValueError) as error:
        tmpfs.choose_base_dir(mounts, euid)
    assert str(error.value) == f"{refused} {DISK_REFUSAL}"


def test_a_disk_base_dir_is_taken_only_when_allowed():
    assert tmpfs.choose_base_dir(NO_TMPFS, 0, allow_disk=True) == "/dev/shm/infrakt"
    assert tmpfs.choose_base_dir(NO_TMPFS, 1000, allow_disk=True) == "/dev/shm/infrakt-1000"
    assert tmpfs.choose_base_dir(MOUNTS, 0, "/var/tmp/keys", allow_disk=True) == "/var/tmp/keys"
    with pytest.raises(ValueError) as error:
        tmpfs.choose_base_dir(MOUNTS, 0, "/var/tmp/keys")
    assert str(error.value) == "/var/tmp/keys is " + DISK_REFUSAL


def test_a_given_base_dir_on_a_tmpfs_is_taken():
    assert tmpfs.choose_base_dir(MOUNTS, 0, "/dev/shm/keys") == "/dev/shm/keys"


def test_a_symlink_to_a_disk_is_no_tmpfs(tmp_path):
    """The base dir is judged where it really is: /dev/shm/x pointing at a disk directory is a disk."""
    link = f"/dev/shm/infrakt-test-link-{os.getpid()}"
    os.symlink(str(tmp_path), link)
    try:
        with pytest.raises(ValueError):
            tmpfs.choose_base_dir("tmpfs /dev/shm tmpfs rw 0 0\n" + NO_TMPFS, 0, link + "/infrakt")
    finally:
        os.unlink(link)


def test_this_machine_s_default_base_dir_is_on_tmpfs():
    assert tmpfs.is_on_tmpfs(os.path.realpath(tmpfs.default_base_dir()), tmpfs.read_mounts())


def test_private_dir_and_files_are_owner_only(tmp_path):
    base = str(tmp_path / "infrakt")
    path = tmpfs.create_private_dir(base, {"credentials": "secret\n", "config": "[default]\n"})
    assert os.path.dirname(path) == base and os.path.basename(path).startswith("run-")
    assert (mode_of(base), mode_of(path)) == (0o700, 0o700)
    assert sorted(os.listdir(path)) == ["config", "credentials"]
    assert {mode_of(os.path.join(path, name)) for name in os.listdir(path)} == {0o600}
    with open(os.path.join(path, "credentials")) as handle:
        assert handle.read() == "secret\n"


def test_each_run_gets_its_own_directory(tmp_path):
    base = str(tmp_path / "infrakt")
    assert tmpfs.create_private_dir(base, {}) != tmpfs.create_private_dir(base, {})


def test_a_loose_base_dir_is_tightened(tmp_path):
    base = tmp_path / "infrakt"
    base.mkdir(mode=0o755)
    base.chmod(0o755)
    tmpfs.ensure_private_base_dir(str(base))
    assert mode_of(base) == 0o700


def test_a_symlinked_base_dir_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "infrakt")
    with pytest.raises(ValueError, match="not a directory"):
        tmpfs.create_private_dir(str(tmp_path / "infrakt"), {"credentials": "x"})
    assert os.listdir(tmp_path / "elsewhere") == []


def test_existing_file_is_never_overwritten(tmp_path):
    target = tmp_path / "credentials"
    target.write_text("old")
    with pytest.raises(FileExistsError):
        tmpfs.write_private_file(str(target), "new")
    assert target.read_text() == "old"


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    base = str(tmp_path / "infrakt")
    with pytest.raises(OSError):
        tmpfs.create_private_dir(base, {"credentials": "x", "no/such/dir": "y"})
    assert os.listdir(base) == []


def test_sweep_removes_only_old_run_directories(tmp_path):
    base = str(tmp_path / "infrakt")
    old = tmpfs.create_private_dir(base, {"credentials": "x"})
    fresh = tmpfs.create_private_dir(base, {"credentials": "x"})
    stranger = os.path.join(base, "keep-me")
    os.mkdir(stranger)
    now = os.stat(fresh).st_mtime
    for path in (old, stranger):
        os.utime(path, (now - 7200, now - 7200))
    assert tmpfs.sweep_stale_dirs(base, 3600, now=now) == [old]
    assert sorted(os.listdir(base)) == sorted([os.path.basename(fresh), "keep-me"])
    assert tmpfs.sweep_stale_dirs(str(tmp_path / "missing"), 3600) == []


def test_sweep_leaves_a_directory_in_use_alone(tmp_path):
    base = str(tmp_path / "infrakt")
    busy = tmpfs.create_private_dir(base, {"credentials": "x"})
    with tmpfs.using_private_dir(busy):
        os.utime(busy, (0, 0))
        assert tmpfs.sweep_stale_dirs(base, 3600) == []
    assert os.stat(busy).st_mtime > 1e9  # marked as just used when the step ended
    assert os.path.isdir(busy)


def test_remove_private_dir(tmp_path):
    base = str(tmp_path / "infrakt")
    path = tmpfs.create_private_dir(base, {"credentials": "x"})
    assert tmpfs.remove_private_dir(path) is True
    assert not os.path.exists(path)
    assert tmpfs.remove_private_dir(path) is False


@pytest.mark.parametrize(
    "path", ["/", "/etc", "/dev/shm/infrakt", "/dev/shm/other/run-x", "relative/infrakt/run-x",
             "/dev/shm/infrakt/run-x/../../../etc"]
)
def test_remove_private_dir_refuses_other_paths(path):
    with pytest.raises(ValueError, match="not a private run directory"):
        tmpfs.remove_private_dir(path)


def wait_until(condition, timeout=10.0):
    """Return True once condition() is true (polled every 50 ms), False after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_process_status_and_identity_name_one_live_process():
    name, parent, started = tmpfs.process_status(os.getpid())
    assert parent == os.getppid() and started > 0 and name
    assert tmpfs.process_identity(os.getpid()) == (os.getpid(), started)
    assert tmpfs.process_alive((os.getpid(), started))
    assert not tmpfs.process_alive((os.getpid(), started + 1))  # the same pid reused by another process
    ended = subprocess.Popen(["true"])
    ended.wait()
    assert tmpfs.process_status(ended.pid) is None and tmpfs.process_identity(ended.pid) is None


def test_process_status_reads_names_with_spaces_and_parentheses(tmp_path):
    program = tmp_path / "odd (name) x"
    program.symlink_to(shutil.which("sleep"))
    with subprocess.Popen([str(program), "30"]) as sleeper:
        try:
            assert wait_until(lambda: tmpfs.process_status(sleeper.pid)[0] == "odd (name) x")
            assert tmpfs.process_status(sleeper.pid)[1] == os.getpid()
        finally:
            sleeper.kill()


def test_a_watchdog_removes_the_directory_when_its_owner_ends(tmp_path):
    path = tmpfs.create_private_dir(str(tmp_path / "infrakt"), {"credentials": "x"})
    with subprocess.Popen(["sleep", "30"]) as owner:
        watchdog = tmpfs.start_watchdog(path, tmpfs.process_identity(owner.pid), 3600)
        def cmdline():
            with open(f"/proc/{watchdog}/cmdline", "rb") as handle:
                return handle.read().split(b"\0")[1:-1]

        assert wait_until(lambda: cmdline())  # empty until the new process has exec'd its interpreter
        assert cmdline() == [b"-", path.encode(), str(owner.pid).encode(),
                             str(tmpfs.process_identity(owner.pid)[1]).encode(), b"3600"]
        time.sleep(2 * tmpfs.WATCHDOG_INTERVAL)
        assert os.path.isdir(path)  # the owner still runs
        owner.kill()
    assert wait_until(lambda: not os.path.exists(path))
    assert wait_until(lambda: tmpfs.process_status(watchdog) is None)


def test_a_watchdog_ends_when_the_directory_is_removed_by_its_run(tmp_path):
    path = tmpfs.create_private_dir(str(tmp_path / "infrakt"), {"credentials": "x"})
    watchdog = tmpfs.start_watchdog(path, tmpfs.process_identity(os.getpid()), 3600)
    tmpfs.remove_private_dir(path)
    assert wait_until(lambda: tmpfs.process_status(watchdog) is None)


def test_watch_run_dir_removes_an_idle_directory_and_waits_while_it_is_in_use(tmp_path):
    path = tmpfs.create_private_dir(str(tmp_path / "infrakt"), {"credentials": "x"})
    os.utime(path, (0, 0))
    with tmpfs.using_private_dir(path):
        watcher = threading.Thread(target=tmpfs.watch_run_dir, args=(path, None, 3600, 0.05))
        watcher.start()
        time.sleep(0.3)
        assert os.path.isdir(path)  # in use: left alone, however old
    assert os.path.isdir(path)  # the step that used it marked it as just used
    os.utime(path, (0, 0))  # and that was long ago
    watcher.join(10)
    assert not watcher.is_alive() and not os.path.exists(path)
