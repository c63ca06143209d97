"""Row P5: one database on each of 1, 8 and 16 hosts backed up in ONE fleet run
(`backup create DB… --forks N --json`) against the same hosts backed up one after another
(`backup create DB` per database). The hosts are extra sshd "remote servers" on loopback
ports, each with its own host key, registered as servers of their own, each with its own
copy of the sample database. The sequential baseline runs all hosts once per round; the
time for the first N hosts one after another is the sum of their runs."""

from statistics import median

from bench.backup_create import Backups
from bench.harness import Bench, timed
from bench.report import Goal, Report, Row
from tests.testbed.sample import sample_sql

HOST_COUNTS = (1, 8, 16)
GOAL = Goal(0.3)  # for the most hosts
PENDING = "fleet command not on this branch"


def fleet_command_available(bench: Bench) -> bool:
    """True when `backup create` takes several databases and --forks (the fleet command)."""
    usage = bench.cli("backup", "create", "--help").stdout
    return "--forks" in usage and "--all" in usage


def measure(bench: Bench, report: Report, rounds: int) -> None:
    """Add a P5 row per host count (pending rows without the fleet command) and a note of
    each fleet run against one host."""
    if not fleet_command_available(bench):
        report.add(Row("P5", f"fleet backup create, {max(HOST_COUNTS)} hosts", goals=(GOAL,), pending=PENDING))
        return
    most = max(HOST_COUNTS)
    with bench.bed.extra_ssh_servers(most) as servers:
        db_names = [_register_host(bench, number, server) for number, server in enumerate(servers, 1)]
        backups = Backups(bench)
        sequential: list[list[float]] = []  # per round, each database's run
        fleet: dict[int, list[float]] = {count: [] for count in HOST_COUNTS}
        try:
            for _ in range(rounds):
                sequential.append([timed(lambda name=name: backups.create(name)) for name in db_names])
                _clean(backups, db_names)
                for count in HOST_COUNTS:
                    fleet[count].append(timed(lambda count=count: _fleet_run(bench, db_names[:count])))
                    _clean(backups, db_names)
        finally:
            for name in db_names:
                bench.psql(f'DROP DATABASE IF EXISTS "{name}"')
    one_host = median(fleet[1])
    for count in HOST_COUNTS:
        one_after_another = [sum(runs[:count]) for runs in sequential]
        report.add(Row("P5", f"fleet backup create, {count} host{'s' if count > 1 else ''}", fleet[count],
                       one_after_another, "one after another", (GOAL,) if count == most else ()))
        if count > 1:
            report.note("P5", f"{count} hosts in one fleet run: {median(fleet[count]) / one_host:.2f}x one host's run")


def _register_host(bench: Bench, number: int, server) -> str:
    """Register extra sshd `server` as server fleet-NN (same machine: the bench server's aws)
    with a database fleet_NN of its own, a copy of the sample; return the database's name."""
    db_name = f"fleet_{number:02d}"
    name = _server_of(db_name)
    bench.cli("server", "add", name, "--host", "127.0.0.1", "--port", str(server.port),
              "--ssh-key", str(server.client_key), "--backup-dir", str(bench.work / "server-backups"))
    bench.store.update_server(name, aws_bin=bench.server.aws_bin)  # provisioning would install the same aws again
    bench.psql(f'DROP DATABASE IF EXISTS "{db_name}"')
    bench.psql(f'CREATE DATABASE "{db_name}"')
    bench.psql(f"BEGIN;\n{sample_sql('postgres')}COMMIT;", db_name)
    bench.add_postgres(db_name, db_name, server=name)
    return db_name


def _fleet_run(bench: Bench, db_names: list[str]) -> None:
    """Back up db_names in one fleet run (one database: all of its server's, since
    `backup create DB` alone is the single backup); exit the bench when one failed."""
    selection = db_names if len(db_names) > 1 else ["--server", _server_of(db_names[0])]
    created = bench.cli_json("backup", "create", *selection, "--forks", str(len(db_names)))
    failed = [item for item in created if item.get("error")]
    if failed or len(created) != len(db_names):
        raise SystemExit(f"fleet run of {len(db_names)} databases: {failed or created}")


def _server_of(db_name: str) -> str:
    """Return the server of fleet database db_name (fleet_NN is on fleet-NN)."""
    return db_name.replace("_", "-")


def _clean(backups: Backups, db_names: list[str]) -> None:
    for name in db_names:
        backups.clean(name)
