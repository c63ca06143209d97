"""The private_files module: files 0600 in 0700 directories, written only when they differ,
strangers removed with exclusive, paths that leave dest refused, check mode writes nothing."""

import os
import stat

from ansible_collections.infrakt.backup.plugins.modules import private_files


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_private_files_once_and_removes_strangers(run_module, tmp_path):
    dest = tmp_path / "runtime"
    args = {"dest": str(dest), "files": {"pkg/a.py": "A = 1\n"}, "secret_files": {"shop.json": '{"password": "p"}\n'},
            "exclusive": True}
    result = run_module(private_files, args)
    assert result["changed"] and result["written"] == [str(dest / "pkg/a.py"), str(dest / "shop.json")]
    assert (mode(dest), mode(dest / "pkg"), mode(dest / "pkg/a.py"), mode(dest / "shop.json")) == (
        0o700, 0o700, 0o600, 0o600)
    assert result["invocation"]["module_args"]["secret_files"] == {"shop.json": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    assert run_module(private_files, args)["changed"] is False
    (dest / "pkg" / "gone.py").write_text("old")
    (dest / "pkg" / "__pycache__").mkdir()
    (dest / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"x")
    removed = run_module(private_files, args)
    assert removed["removed"] == [str(dest / "pkg" / "gone.py")]
    assert (dest / "pkg" / "__pycache__" / "a.cpython-311.pyc").exists()


def test_check_mode_writes_nothing(run_module, tmp_path):
    result = run_module(private_files, {"dest": str(tmp_path / "d"), "files": {"x": "1"}}, check_mode=True)
    assert result["changed"] and not (tmp_path / "d").exists()


def test_paths_leaving_dest_are_refused(run_module, tmp_path):
    for relative in ("../x", "/etc/passwd", "a//b", "a/./b"):
        result = run_module(private_files, {"dest": str(tmp_path / "d"), "files": {relative: "1"}})
        assert result["failed"] and "not a plain relative path" in result["msg"]
    (tmp_path / "d").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "d" / "link")
    result = run_module(private_files, {"dest": str(tmp_path / "d"), "files": {"link": "1"}})
    assert result["failed"] and "symlink" in result["msg"]


def test_an_older_install_with_looser_modes_is_tightened(run_module, tmp_path):
    dest = tmp_path / "runtime"
    (dest / "pkg").mkdir(parents=True, mode=0o755)
    (dest / "pkg").chmod(0o755)
    (dest / "pkg" / "a.py").write_text("A = 1\n")
    (dest / "pkg" / "a.py").chmod(0o644)
    result = run_module(private_files, {"dest": str(dest), "files": {"pkg/a.py": "A = 1\n"}})
    assert result["changed"] and (mode(dest / "pkg"), mode(dest / "pkg" / "a.py")) == (0o700, 0o600)
    assert run_module(private_files, {"dest": str(dest), "files": {"pkg/a.py": "A = 1\n"}})["changed"] is False
