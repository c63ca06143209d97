"""The only place that calls ansible-runner.

ansible-runner writes what it is given to disk (FACTS.md, "ansible-runner: what lands on
disk"), so every run gets:
- a fresh 0700 directory on tmpfs, removed in `finally`, holding the private_data_dir
  (`suppress_env_files=True`) and, beside it, all playbook variables, secrets included, in
  ONE 0600 vars file passed as `-e @FILE` — never in `extravars` or `envvars`, which runner
  copies into its artifacts or onto the command line.
The private_data_dir therefore never holds a secret, not even while the play runs. The
directory is named after this process, so that the next run removes it when a SIGKILL left it
behind; with no tmpfs usable, a run refuses unless the user allows the disk
(INFRAKT_ALLOW_SECRETS_ON_DISK=1). Whatever ansible-playbook quotes of the vars file (an
error's source context) is hidden from what the wrapper shows.

ansible-runner also copies this process's environment into its artifacts and into
ansible-playbook's; a user who exported INFRAKT_S3_SECRET_KEY (or any AWS key) for an earlier
command would leak it there, so only an allow-list of variables reaches ansible-runner.
Values in the vars file are marked `!unsafe`: a password like `p{{ x }}` is a password, not
a Jinja template.

Module results do not come from ansible-runner's events: its event callback replaces a result
larger than MAX_EVENT_RES (700,000 characters; a listing of 10,000 backups is larger) with
`{}`. The callback plugin callback_plugins/infrakt_results.py writes every task result whole
into the private_data_dir instead; the events only say which tasks started and ended. A
result announced by an event that did not arrive there fails the run, naming the task: a
missing result is never read as an empty answer.
"""

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import tmpfs
from infrakt_backup import interrupts
from infrakt_backup.collection import collection_root
from infrakt_backup.errors import InfraktError

SERVER_GROUP = "infrakt_servers"
TMPFS_CANDIDATES = ("XDG_RUNTIME_DIR", "/dev/shm")
# A run directory is named infrakt-run-<pid of the CLI>-<random>: a later run removes those
# whose process is gone (a SIGKILL or the OOM killer runs no `finally`).
RUN_DIR_PREFIX = "infrakt-run-"
SOCKET_PATH_MAX = 107  # bytes of a unix socket path (sun_path, without its NUL)
SSH_SOCKET_SUFFIX = 17  # what ssh appends to a ControlPath while it sets the master up
# Set to 1, the vars file (secrets in clear) may go to the system temp dir when no tmpfs is usable.
SECRETS_ON_DISK_OPT_IN = "INFRAKT_ALLOW_SECRETS_ON_DISK"
# Tasks a progress line would only repeat: role includes (their tasks are shown), facts and
# reports for ansible-playbook users, Ansible's own bookkeeping.
QUIET_ACTIONS = frozenset(
    {"ansible.builtin.include_role", "ansible.builtin.set_fact", "ansible.builtin.debug",
     "include_role", "set_fact", "debug"}
)
QUIET_TASKS = ("Gathering", "Validating arguments against arg spec")
# What ansible-playbook may inherit from the caller's environment; the rest (exported secrets
# among it) stays out of ansible-runner's artifacts and child processes.
INHERITED_ENVIRONMENT = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR",
                         "SSH_AUTH_SOCK", "XDG_RUNTIME_DIR")
INHERITED_PREFIXES = ("LC_",)
# Every line of the vars file ends with this comment, and nothing else ansible-playbook prints
# carries it: a line of its output holding it quotes the vars file (an error's source context).
VARS_LINE_MARKER = "#infrakt-run-vars"
# The lines ansible-playbook prints under "Origin: <file>:<line>:<column>": numbered source
# lines, blank lines and the column marker (`^ column 7`, `column 7 ^`, `^^^`).
SOURCE_CONTEXT_LINE = re.compile(r"^\s*(\d+( .*)?|\^.*|column \d+ \^|)$")
VARS_FILE_LINES_HIDDEN = "  (the lines of the run's variables file are not shown: they hold secrets)"
# The callback plugin that writes every task result whole, and where it finds the file to write.
RESULTS_CALLBACK = "infrakt_results"
RESULTS_CALLBACK_DIR = Path(__file__).parent / "callback_plugins"
RESULTS_FILE_ENV = "INFRAKT_RESULTS_FILE"
RESULTS_FILE = "results.jsonl"  # in the private_data_dir
RESULT_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable")
# a loop's items end one by one before their task's own result event
ITEM_EVENTS = {"runner_item_on_ok": "ok", "runner_item_on_failed": "failed"}


@dataclass
class ModuleResult:
    """What one module returned on one host: `action` is the module's FQCN; `complete` is False
    when the whole result never arrived (`result` then holds what the event carried, maybe `{}`);
    `unreachable` when the host could not be reached for it (failed too)."""

    host: str
    task: str
    action: str
    result: dict
    failed: bool = False
    task_uuid: str = ""
    complete: bool = True
    unreachable: bool = False


@dataclass(frozen=True)
class Outcome:
    """Something that ended on one host while a run goes on, for live progress: a loop item of
    a task (`item`: its label) or a whole task (`item` None); `status` is ok, failed or
    unreachable. Not a result: results are read from the PlaybookRun once the run ended."""

    host: str
    action: str
    item: str | None
    status: str


@dataclass
class PlaybookRun:
    """The outcome of one playbook run: status, the modules of the tasks that started and the
    module results, in order, the first failure."""

    status: str
    rc: int
    results: list[ModuleResult] = field(default_factory=list)
    failure: str | None = None
    started: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.failure is None

    def has_started(self, action: str) -> bool:
        """Return whether a task of module `action` (FQCN) started, answered or not: a run
        interrupted while it worked has no result of it."""
        return action in self.started

    def result_of(self, action: str) -> dict | None:
        """Return the last successful result of module `action` (FQCN), or None when no task of
        it succeeded; raise InfraktError when one did but its result did not arrive whole."""
        for module_result in reversed(self.results):
            if module_result.action == action and not module_result.failed:
                if not module_result.complete:
                    raise InfraktError(lost_result_message(module_result))
                return module_result.result
        return None

    def required_result(self, action: str, key: str):
        """Return `key` of the last successful result of module `action`; raise InfraktError
        when no task of it succeeded, its result did not arrive whole or lacks `key`."""
        result = self.result_of(action)
        if result is None or key not in result:
            raise InfraktError(f"{action} returned no {key}: {self.failure or 'its task did not run'}")
        return result[key]

    @property
    def first_failure(self) -> ModuleResult | None:
        """Return the module result whose failure ended the run, or None."""
        return next((module_result for module_result in self.results if module_result.failed), None)

    def fact(self, name: str):
        """Return the last value a task of the run set for host fact `name`, or None."""
        for module_result in reversed(self.results):
            facts = module_result.result.get("ansible_facts") or {}
            if name in facts:
                return facts[name]
        return None

    def raise_for_failure(self, what: str) -> None:
        """Raise InfraktError('<what> failed: <reason>') unless the run succeeded."""
        if not self.ok:
            raise InfraktError(f"{what} failed: {self.failure or f'ansible-runner ended {self.status}'}")


def server_inventory(servers, known_hosts: Path) -> dict:
    """Return an Ansible inventory with `servers` (store ServerEntry objects) in group
    infrakt_servers. Host keys are checked strictly against `known_hosts` alone, where `server
    add` pinned them: a key ssh has not seen there is refused, never trusted on first use."""
    hosts = {}
    for number, server in enumerate(servers):
        ssh_args = (f"-o UserKnownHostsFile={shlex.quote(str(known_hosts))} -o GlobalKnownHostsFile=/dev/null"
                    " -o StrictHostKeyChecking=yes")
        host_vars = {
            "ansible_host": server.host,
            "ansible_port": server.port,
            "ansible_user": server.user,
            "ansible_python_interpreter": server.python_interpreter,
            "ansible_ssh_common_args": ssh_args,
            # in the run's own control directory (ANSIBLE_SSH_CONTROL_PATH_DIR), whatever an
            # ansible.cfg says; a short name: ssh refuses socket paths over ~104 bytes
            "ansible_control_path": f"%(directory)s/{number}",
        }
        if server.ssh_key_path:
            host_vars["ansible_ssh_private_key_file"] = server.ssh_key_path
        hosts[server.name] = host_vars
    return {"all": {"children": {SERVER_GROUP: {"hosts": hosts}}}}


def _tmpfs_candidates() -> list[str]:
    """Return the directories of TMPFS_CANDIDATES that are set, symlinks resolved."""
    candidates = (os.environ.get(candidate) if candidate.isupper() else candidate for candidate in TMPFS_CANDIDATES)
    return [os.path.realpath(candidate) for candidate in candidates if candidate]


def _new_run_dir() -> Path:
    """Remove the run directories dead runs left, then return a new 0700 run directory of this
    process on the first usable tmpfs of TMPFS_CANDIDATES. Without one, raise InfraktError
    (exit code 1: nothing is wrong with the command, this machine has no safe place for its
    secrets) unless SECRETS_ON_DISK_OPT_IN=1 allows the system temp dir."""
    candidates = _tmpfs_candidates()
    disk_dir = tempfile.gettempdir()
    sweep_dead_run_dirs([*candidates, disk_dir])
    mounts_text = tmpfs.read_mounts()
    usable = [base for base in candidates
              if os.path.isdir(base) and os.access(base, os.W_OK) and tmpfs.is_on_tmpfs(base, mounts_text)]
    if usable:
        base = usable[0]
    elif os.environ.get(SECRETS_ON_DISK_OPT_IN) == "1":
        base = disk_dir
    else:
        raise InfraktError(
            f"no tmpfs is usable for the run's secrets ($XDG_RUNTIME_DIR, /dev/shm); refusing to write them to disk"
            f" (set {SECRETS_ON_DISK_OPT_IN}=1 to allow {disk_dir})"
        )
    return Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-", dir=base))


def sweep_dead_run_dirs(bases: list[str]) -> list[Path]:
    """Remove this user's run directories under bases whose process is gone and that nobody
    holds locked (a run locks its own: a CLI in another pid namespace sharing the directory
    stays safe); return the removed paths. A reused pid keeps a directory until that process ends."""
    removed = []
    for base in dict.fromkeys(bases):
        try:
            names = sorted(os.listdir(base))
        except OSError:
            continue
        for name in names:
            pid = _run_dir_pid(name)
            path = os.path.join(base, name)
            if pid is None or _process_alive(pid):
                continue
            try:
                info = os.lstat(path)
            except OSError:
                continue  # removed meanwhile by a concurrent sweep
            if (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
                    and tmpfs.remove_unless_in_use(path)):
                removed.append(Path(path))
    return removed


def _run_dir_pid(name: str) -> int | None:
    """Return the pid in run directory name `infrakt-run-<pid>-<random>`, or None for other names."""
    if not name.startswith(RUN_DIR_PREFIX):
        return None
    pid, _, random_part = name[len(RUN_DIR_PREFIX):].partition("-")
    return int(pid) if pid.isdigit() and random_part else None


def _process_alive(pid: int) -> bool:
    """Return True if process pid exists (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class VarsFileRedactor:
    """Hides what ansible-playbook quotes of the run's vars file: the source lines it prints
    under `Origin: <vars file>:…` in an error or warning, and any line carrying the vars
    file's VARS_LINE_MARKER. Output comes in pieces (one event per line before the play
    starts), so the redactor remembers whether it is inside such a context."""

    def __init__(self, vars_path: Path):
        self.vars_path = vars_path
        self.origin = f"Origin: {vars_path}"
        self.in_context = False

    def redact(self, text: str) -> str:
        """Return text without the vars file's lines (each hidden stretch said once)."""
        kept = []
        for line in text.split("\n"):
            if self.in_context and SOURCE_CONTEXT_LINE.match(line):
                continue
            self.in_context = self.origin in line
            if self.in_context:
                kept += [line, VARS_FILE_LINES_HIDDEN]
            elif VARS_LINE_MARKER in line:
                kept.append(VARS_FILE_LINES_HIDDEN)
            else:
                kept.append(line)
        return "\n".join(kept)


def _failure_message(event_data: dict, vars_path: Path) -> str:
    """Return a one-line reason from a failed or unreachable task's event data, without what
    it quotes of the vars file at vars_path."""
    result = event_data.get("res") or {}
    message = VarsFileRedactor(vars_path).redact(str(result.get("msg") or result.get("stderr") or "the task failed"))
    if result.get("unreachable") or event_data.get("event") == "runner_on_unreachable":
        message = f"cannot reach server {event_data.get('host')}: {message}"
    return " ".join(message.split())


def run_playbook(
    playbook: str,
    inventory: dict,
    variables: dict,
    *,
    verbosity: int = 0,
    progress: Callable[[str], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    forks: int | None = None,
    on_event: Callable[[dict, Path], None] | None = None,
) -> PlaybookRun:
    """Run the collection's playbooks/<playbook> against `inventory` with `variables`
    (secrets included: they only ever go into the private vars file), on up to `forks` hosts
    at a time (None: Ansible's default, 5).

    `progress` gets a short line per task; `on_outcome` an Outcome as each loop item or task
    ends on a host; `on_event(event, private_data_dir)` sees every runner event while the
    run's directories still exist (tests inspect them from there).
    Returns a PlaybookRun; raises InfraktError when ansible-runner cannot start at all.
    """
    import ansible_runner  # imported here: it is slow to import and most commands never run a play
    from ansible_runner.utils import signal_handler

    playbook_path = collection_root() / "playbooks" / playbook
    if not playbook_path.is_file():
        raise InfraktError(f"playbook {playbook} is missing from the collection at {collection_root()}")

    # One 0700 directory on tmpfs: ansible-runner's private_data_dir and, beside it, the vars file.
    run_dir = _new_run_dir()
    private_data_dir = run_dir / "runner"
    vars_path = run_dir / "vars.yml"
    control_dir = _new_control_dir(run_dir)
    redactor = VarsFileRedactor(vars_path)
    run = PlaybookRun(status="unknown", rc=-1)
    try:
        os.chmod(run_dir, 0o700)
        private_data_dir.mkdir(mode=0o700)
        # ansible-playbook finds infrakt.backup through this link, whether the collection is the
        # checkout or the copy inside the wheel.
        collection_link = private_data_dir / "collections" / "ansible_collections" / "infrakt" / "backup"
        collection_link.parent.mkdir(parents=True)
        collection_link.symlink_to(collection_root(), target_is_directory=True)
        inventory_path = private_data_dir / "inventory" / "hosts.json"
        inventory_path.parent.mkdir()
        tmpfs.write_private_file(inventory_path, json.dumps(inventory, ensure_ascii=False))
        tmpfs.write_private_file(vars_path, unsafe_vars_yaml(variables))

        def handle_event(event: dict) -> bool:
            _record_event(run, event, progress, verbosity, redactor)
            outcome = _outcome_of(event)
            if outcome is not None and on_outcome is not None:
                on_outcome(outcome)
            if on_event is not None:
                on_event(event, private_data_dir)
            return True

        # the lock tells sweeps of other CLIs that this run is alive, whatever its pid says to them
        with tmpfs.using_private_dir(str(run_dir)), _inherited_environment_only(), interrupts.during_play():
            # ansible-runner's own cancel (Ctrl-C, SIGTERM: it takes those signals over for the
            # run), or a SIGHUP (remembered by interrupts.during_play)
            runner_cancel = signal_handler()  # None outside the main thread (the web page's jobs)

            def cancelled() -> bool:
                return interrupts.received() or bool(runner_cancel and runner_cancel())

            runner = ansible_runner.run(
                private_data_dir=str(private_data_dir),
                playbook=str(playbook_path),
                inventory=str(inventory_path),
                cmdline=f"-e @{vars_path}",
                envvars=_ansible_environment(private_data_dir, control_dir),
                suppress_env_files=True,
                quiet=True,
                # how often ansible-runner looks for a cancel (Ctrl-C, SIGTERM): its 5 s default
                # let a restore start after the user had already interrupted
                settings={"pexpect_timeout": 0.5},
                verbosity=verbosity or None,
                forks=forks,
                event_handler=handle_event,
                cancel_callback=cancelled,
            )
        if interrupts.received():
            raise KeyboardInterrupt  # a SIGHUP or SIGTERM stopped the play: the command ends as interrupted
        run.status = runner.status
        run.rc = runner.rc
        _attach_results(run, private_data_dir / RESULTS_FILE)
        if run.status != "successful" and run.failure is None:
            run.failure = f"ansible-playbook ended {run.status} (exit code {run.rc})"
        return run
    finally:
        _end_ssh_masters(control_dir)
        shutil.rmtree(control_dir, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)


def _new_control_dir(run_dir: Path) -> Path:
    """Return a new 0700 directory for this run's own SSH control sockets (a master another run
    or tool left open would be reused without a host key check): in run_dir, or, where that
    path is too long for a socket (ssh appends 17 characters to a name, a socket path has at
    most 107 bytes), a new one in /tmp. The sockets hold no secret."""
    inside = run_dir / "ssh"
    if len(os.fsencode(inside)) + len("/9999") + SSH_SOCKET_SUFFIX <= SOCKET_PATH_MAX:  # up to 10000 hosts
        inside.mkdir(mode=0o700)
        return inside
    return Path(tempfile.mkdtemp(prefix="infrakt-ssh-", dir="/tmp"))


def _end_ssh_masters(control_dir: Path) -> None:
    """Stop the SSH master connections this run left in control_dir (ControlPersist would keep
    them, and their processes, for another 15 s with nothing to reuse them). ssh gets no more
    of the caller's environment than PATH (it may hold an exported secret)."""
    for socket_path in control_dir.glob("*") if control_dir.is_dir() else ():
        subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "infrakt-run"],
                       capture_output=True, timeout=10, check=False,
                       env={"PATH": os.environ.get("PATH", os.defpath)})


def unsafe_vars_yaml(variables: dict) -> str:
    """Return variables as a YAML vars file, one line per variable (lists and dicts in flow
    style), every line ending in VARS_LINE_MARKER. Its root mapping is tagged `!unsafe`, so that
    Ansible never evaluates a string of it as a template; strings are double-quoted, and only a
    whole mapping is tagged: Ansible re-resolves a tagged scalar as if it were unquoted (`!unsafe
    "yes"` would be True, `!unsafe "*"` an error), a tagged mapping's quoted strings stay strings."""
    lines = [f"{yaml_double_quoted(name)}: {_yaml_flow_value(value, name)}  {VARS_LINE_MARKER}"
             for name, value in variables.items()]
    return f"--- !unsafe  {VARS_LINE_MARKER}\n" + ("\n".join(lines) if lines else "{}") + "\n"


def _yaml_flow_value(value, name: str) -> str:
    """Return value (strings, numbers, booleans, None, and lists and str-keyed dicts of them)
    as a YAML flow node; raise TypeError naming variable `name` for anything else."""
    if isinstance(value, str):
        return yaml_double_quoted(value)
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_flow_value(item, name) for item in value) + "]"
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return "{" + ", ".join(f"{yaml_double_quoted(key)}: {_yaml_flow_value(item, name)}"
                               for key, item in value.items()) + "}"
    raise TypeError(f"playbook variable {name} holds a {type(value).__name__}, which a vars file cannot carry")


def yaml_double_quoted(text: str) -> str:
    """Return text as a YAML double-quoted scalar of printable ASCII only: every other
    character is a YAML escape (`\\x..`, `\\u....`, `\\U........`). JSON's escapes would write a
    character outside the Basic Multilingual Plane as a surrogate pair, which YAML rejects, and
    raw non-ASCII would let YAML fold line separators such as U+2028."""
    escaped = []
    for character in text:
        code = ord(character)
        if character in '"\\':
            escaped.append("\\" + character)
        elif 0x20 <= code < 0x7F:
            escaped.append(character)
        elif code <= 0xFF:
            escaped.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            escaped.append(f"\\u{code:04x}")
        else:
            escaped.append(f"\\U{code:08x}")
    return '"' + "".join(escaped) + '"'


@contextmanager
def _inherited_environment_only() -> Iterator[None]:
    """Narrow os.environ to INHERITED_ENVIRONMENT while ansible-runner copies it; restore it after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(
        {name: value for name, value in saved.items()
         if name in INHERITED_ENVIRONMENT or name.startswith(INHERITED_PREFIXES)}
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _ansible_environment(private_data_dir: Path, control_dir: Path) -> dict:
    """Return the (secret-free) environment for ansible-playbook, its SSH control sockets in
    control_dir."""
    return {
        # ansible-playbook from the same environment as this wrapper, even when that
        # environment's bin/ is not on the caller's PATH (a venv's infrakt-backup run directly).
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]),
        "ANSIBLE_COLLECTIONS_PATH": str(private_data_dir / "collections"),
        "ANSIBLE_LOCAL_TEMP": str(private_data_dir / "tmp"),
        # Module arguments (passwords among them) then travel over the SSH channel's stdin
        # instead of landing in a file under the remote user's tmp dir. These beat the
        # ansible.cfg ansible-playbook reads (~/.ansible.cfg, /etc/ansible/ansible.cfg): with
        # keep_remote_files on, Ansible turns pipelining off whatever `ansible_pipelining` says,
        # and become method `su` cannot pipeline.
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_KEEP_REMOTE_FILES": "False",
        "ANSIBLE_BECOME_METHOD": "sudo",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        # SSH options pinned whole: ssh takes the first value of an option, and ansible.cfg's
        # ssh_args come before the inventory's pinned host-key options (StrictHostKeyChecking=no
        # there would win); a control_path of its own would bring back shared masters. A master
        # outlives its last task by 15 s at most (a killed run's credentials watchdog waits for it).
        "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=15s",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_GATHERING": "explicit",
        # ansible-runner adds its own callback directory after this one
        "ANSIBLE_CALLBACK_PLUGINS": str(RESULTS_CALLBACK_DIR),
        "ANSIBLE_CALLBACKS_ENABLED": RESULTS_CALLBACK,
        RESULTS_FILE_ENV: str(private_data_dir / RESULTS_FILE),
    }


def _record_event(run: PlaybookRun, event: dict, progress, verbosity: int, redactor: VarsFileRedactor) -> None:
    """Fold one runner event into `run`, and report task starts through `progress` (and, when
    verbose, ansible-playbook's output, the vars file's lines hidden by redactor)."""
    kind = event.get("event")
    data = event.get("event_data") or {}
    if kind == "playbook_on_task_start":
        run.started.append(data.get("resolved_action") or data.get("task_action") or "")
    if kind == "playbook_on_task_start" and progress is not None:
        task_name = data.get("task") or data.get("name")
        if task_name and data.get("task_action") not in QUIET_ACTIONS and not task_name.startswith(QUIET_TASKS):
            progress(f"… {task_name}")
    if verbosity and progress is not None and event.get("stdout"):
        progress(redactor.redact(event["stdout"]))
    if kind in RESULT_EVENTS:
        failed = kind != "runner_on_ok"
        if failed and data.get("ignore_errors"):
            return
        run.results.append(
            ModuleResult(
                host=data.get("host", ""),
                task=data.get("task", ""),
                action=data.get("resolved_action") or data.get("task_action", ""),
                result=data.get("res") or {},
                failed=failed,
                task_uuid=data.get("task_uuid") or "",
                complete=False,  # until _attach_results finds it whole
                unreachable=kind == "runner_on_unreachable",
            )
        )
        if failed and run.failure is None:
            run.failure = _failure_message({**data, "event": kind}, redactor.vars_path)


def _outcome_of(event: dict) -> Outcome | None:
    """Return the Outcome a runner event reports (a loop item or a task that ended on a host),
    else None. Failures a task ignores are no outcome, as they are no failure of the run."""
    kind = event.get("event")
    data = event.get("event_data") or {}
    result = data.get("res") or {}
    action = data.get("resolved_action") or data.get("task_action") or ""
    if kind in ITEM_EVENTS:
        label = result.get("_ansible_item_label", result.get("item"))
        return Outcome(data.get("host", ""), action, str(label), ITEM_EVENTS[kind])
    if kind in RESULT_EVENTS and not data.get("ignore_errors"):
        return Outcome(data.get("host", ""), action, None, kind.removeprefix("runner_on_"))
    return None


def _attach_results(run: PlaybookRun, results_path: Path) -> None:
    """Give each ModuleResult of `run` its whole result from results_path, where the
    infrakt_results callback wrote one JSON line per task result ({task_uuid, host, result}),
    in the order the events came. When a successful task's result is not there (the callback
    did not run, a line was cut short), `run` fails naming that task."""
    arrived: dict[tuple[str, str], deque] = defaultdict(deque)
    try:
        lines = results_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # cut short: its task counts as without a result
        arrived[(record["task_uuid"], record["host"])].append(record["result"])
    for module_result in run.results:
        results = arrived.get((module_result.task_uuid, module_result.host))
        if results:
            module_result.result = results.popleft()
            module_result.complete = True
    lost = next((result for result in run.results if not result.complete and not result.failed), None)
    if lost is not None and run.failure is None:
        run.failure = lost_result_message(lost)


def lost_result_message(module_result: ModuleResult) -> str:
    """Return why the result of module_result (a successful task) is not known."""
    return (f"the result of task '{module_result.task}' ({module_result.action}) on {module_result.host} did not "
            "arrive whole, so what it returned is unknown")
