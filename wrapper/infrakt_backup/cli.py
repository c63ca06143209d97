"""The `infrakt-backup` command line: parse options, call one action, print what it returns.

The actions validate what they are given; this module only parses and dispatches. Output is
short sentences and plain tables; `--json` prints only JSON on stdout and keeps progress lines
off stderr. Exit codes: 0 ok, 1 the operation failed, 2 bad input (BadInput). Every
InfraktError becomes one line, `infrakt-backup: error: …`, on stderr; anything unexpected too
(a ValueError that reaches here is a bug, not bad input), with the traceback only at -vvv.
Secrets are read from the environment, stdin or a hidden prompt, never from a flag (argv is
visible to every user).

Start-up stays short: the actions are imported inside their commands, so that a command
loads SQLAlchemy (store.py) only when it opens the store and ansible-runner only when it runs
a play; `--help` and `--version` load neither (test_cli checks it).
"""

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ansible_collections.infrakt.backup.plugins.module_utils import names, retention
from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import DEFAULT_BACKUP_DIR
from ansible_collections.infrakt.backup.plugins.module_utils.s3 import presets
from infrakt_backup import __version__, interrupts
from infrakt_backup.actions import DEFAULT_FORKS
from infrakt_backup.errors import BAD_INPUT, OPERATION_FAILED, BadInput, InfraktError
from infrakt_backup.output import human_size, labelled, readable_utc, table, table_of, to_json
from infrakt_backup.progress import Ticker

if TYPE_CHECKING:
    from infrakt_backup.store import Store

PROG = "infrakt-backup"
S3_SECRET_ENV = "INFRAKT_S3_SECRET_KEY"  # noqa: S105 (the name of the variable, not a secret)
DB_PASSWORD_ENV = "INFRAKT_DB_PASSWORD"  # noqa: S105
NOTIFY_URL_ENV = "INFRAKT_NOTIFY_URL"
TRACEBACK_VERBOSITY = 3
# Defaults shown in the help, equal to store.DEFAULT_PYTHON and settings_s3.DEFAULT_PROVIDER
# (test_cli checks it): importing those modules here would load SQLAlchemy for every command.
DEFAULT_PYTHON = "/usr/bin/python3"
DEFAULT_PROVIDER = "custom"
# How `backup list` shows where a backup is (☁ marks an S3 copy).
LOCATION_LABELS = {"local": "local", "both": "local + ☁ S3", "s3": "☁ S3 only"}
ENCRYPTED_LABEL = "🔒 age"  # how `backup list` marks an encrypted backup
# The `server list` and `db list` tables: column header → key of the action's dicts.
SERVER_COLUMNS = {"NAME": "name", "HOST": "host", "PORT": "port", "USER": "user", "SSH KEY": "ssh_key_path",
                  "BACKUP DIR": "backup_dir", "AWS CLI": "aws_bin"}
DATABASE_COLUMNS = {"NAME": "name", "SERVER": "server", "ENGINE": "engine", "DATABASE": "database", "USER": "user",
                    "HOST": "host", "PORT": "port", "CONTAINER": "container", "COMPRESSION": "compression",
                    "PASSWORD": "password"}


@dataclass
class App:
    """What every command gets: the global options and the store, opened on first use."""

    home: Path | None
    verbosity: int
    _store: "Store | None" = None

    @property
    def store(self) -> "Store":
        if self._store is None:
            from infrakt_backup.store import Store

            self._store = Store(self.home)
        return self._store


pass_app = click.make_pass_decorator(App)
json_option = click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
identity_file_option = click.option(
    "--identity-file", type=click.Path(dir_okay=False, path_type=Path),
    help="age identity file that decrypts an encrypted backup (when the store holds none for it).")


def timeout_options(command):
    """Add --timeout and --lock-timeout (seconds, passed to the modules on the server)."""
    command = click.option("--lock-timeout", type=int, metavar="SECONDS",
                           help="Give up when a table stays locked this long (default 60).")(command)
    return click.option("--timeout", type=int, metavar="SECONDS",
                        help="Stop the whole dump or restore after this long (default 21600).")(command)


class CommandError(click.ClickException):
    """An error worded for the user: printed as one line on stderr, exits with exit_code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"{PROG}: error: {self.format_message()}", err=True)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


def _usage_error(error: click.UsageError) -> CommandError:
    """Return click's usage error (a bad option value, a missing argument) as one line with exit
    code 2: click's own form spreads it over a usage block and a hint."""
    where = f" (see {error.ctx.command_path} --help)" if error.ctx is not None else ""
    return CommandError(f"{_first_line(error.format_message())}{where}", BAD_INPUT)


class InfraktGroup(click.Group):
    """The root command group: turns whatever a command raises into a CommandError."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:  # a bare group prints its help
            raise
        except click.UsageError as error:  # the root's own options
            raise _usage_error(error) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as error:  # a subcommand's options and arguments
            raise _usage_error(error) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except InfraktError as error:
            raise CommandError(error.message, error.exit_code) from None
        except Exception as error:
            if getattr(ctx.obj, "verbosity", 0) >= TRACEBACK_VERBOSITY:
                traceback.print_exc()
            raise CommandError(
                f"unexpected {type(error).__name__}: {_first_line(error)} (-vvv shows the traceback)",
                OPERATION_FAILED,
            ) from None


def _echo_json(data) -> None:
    click.echo(to_json(data))


@contextmanager
def _progress(as_json: bool) -> Iterator[Callable[[str], None]]:
    """Yield the progress callback actions get, for the length of the with block. When stderr is
    a terminal, a progress.Ticker (with --json too: stdout stays JSON): one status line with the
    running task, its elapsed time and a fleet run's count, ended when the block ends, before
    the command prints its answer. Otherwise each message (`… Dump the database`) as a line on
    stderr, and nothing with --json."""
    stderr = sys.stderr
    if stderr.isatty():
        ticker = Ticker(stderr)
        try:
            yield ticker
        finally:
            ticker.close()
    elif as_json:
        yield lambda message: None
    else:
        yield lambda message: click.echo(message, err=True)


def _read_stdin_secret() -> str:
    """Return stdin's content without its final line break (`echo secret |` adds one)."""
    return sys.stdin.read().removesuffix("\n").removesuffix("\r")


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _readable(iso_time: str | None) -> str:
    return readable_utc(datetime.fromisoformat(iso_time)) if iso_time else "-"


@click.group(cls=InfraktGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path),
    help="Configuration directory (default: $INFRAKT_HOME, else ~/.infrakt).",
)
@click.option("-v", "--verbose", "verbosity", count=True, help="Say more; repeat for Ansible's own verbosity.")
@click.version_option(__version__, prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context, home: Path | None, verbosity: int) -> None:
    """Database backups made on your servers and pushed from there to S3-compatible storage."""
    ctx.obj = App(home=home, verbosity=verbosity)


def main() -> None:
    """Entry point of the `infrakt-backup` script."""
    interrupts.install()
    cli.main(prog_name=PROG)


# ---------------------------------------------------------------- settings s3


@cli.group()
def settings() -> None:
    """Global settings."""


@settings.group()
def s3() -> None:
    """The S3-compatible storage backups are uploaded to."""


@s3.command("show")
@json_option
@pass_app
def s3_show(app: App, as_json: bool) -> None:
    """Show the S3 settings (the secret key masked)."""
    from infrakt_backup.actions import settings_s3

    shown = settings_s3.show(app.store)
    if as_json:
        _echo_json(shown)
    elif not shown["configured"]:
        click.echo("S3 backup storage is not configured.")
    else:
        click.echo(labelled([
            ("Provider", shown["provider"]),
            ("Endpoint URL", shown["endpoint_url"]),
            ("Bucket", shown["bucket"]),
            ("Region", shown["region"]),
            ("Prefix", shown["prefix"] or "(none)"),
            ("Access key", shown["access_key"]),
            ("Secret key", shown["secret_key"]),
            ("Updated", _readable(shown["updated_at"])),
        ]))


@s3.command("set")
@click.option("--provider", type=click.Choice(list(presets.PROVIDERS)),
              help=f"Fills in the region when --region is left out (default: the stored one, "
                   f"else {DEFAULT_PROVIDER}).")
@click.option("--endpoint-url", help="http(s)://host[:port] of the S3 API (may be left out for aws).")
@click.option("--bucket", required=True)
@click.option("--region", help="Default: from the endpoint's host name or the provider.")
@click.option("--access-key", required=True)
@click.option("--prefix", help="Key prefix inside the bucket (default: the stored one, else none; '' clears it).")
@click.option("--secret-key-stdin", is_flag=True,
              help=f"Read the secret key from stdin (else ${S3_SECRET_ENV}, else a hidden prompt).")
@pass_app
def s3_set(app: App, provider: str | None, endpoint_url: str | None, bucket: str, region: str | None, access_key: str,
           prefix: str | None, secret_key_stdin: bool) -> None:
    """Save the S3 settings. On an update, the provider, prefix, region (same provider and
    endpoint) and secret key left out stay as stored.

    The secret key is never a flag: it comes from stdin (--secret-key-stdin), from
    $INFRAKT_S3_SECRET_KEY, or from a hidden prompt; when none is given and one is stored,
    the stored one is kept.
    """
    from infrakt_backup.actions import settings_s3

    secret = _read_stdin_secret() if secret_key_stdin else os.environ.get(S3_SECRET_ENV) or None

    def ask_secret() -> str:
        if not _stdin_is_terminal():
            raise BadInput(f"no S3 secret key: set ${S3_SECRET_ENV} or pipe it with --secret-key-stdin")
        return click.prompt("S3 secret key", hide_input=True, err=True)

    with _progress(False) as progress:
        saved = settings_s3.save(
            app.store, provider=provider, endpoint_url=endpoint_url, bucket=bucket, region=region,
            access_key=access_key, prefix=prefix, secret_key=secret, ask_secret=ask_secret, progress=progress,
        )
    where = f"bucket {saved['bucket']} at {saved['endpoint_url']}, region {saved['region']}"
    if saved["prefix"]:
        where += f", prefix {saved['prefix']}/"
    click.echo(f"S3 backup storage saved: {where}.")
    if saved["secret_key_kept"]:
        click.echo("The stored secret key was kept.")
    _report_schedules(saved["schedules"], "the new S3 settings")


@s3.command("delete")
@pass_app
def s3_delete(app: App) -> None:
    """Delete the S3 settings (backups already in the bucket stay there) and the upload step and
    S3 files of the servers' scheduled backups."""
    from infrakt_backup.actions import settings_s3

    with _progress(False) as progress:
        deleted = settings_s3.delete(app.store, progress=progress)
    if deleted["deleted"]:
        click.echo("S3 backup storage settings deleted.")
    else:
        click.echo("S3 backup storage was not configured; nothing to delete.")
    _report_schedules(deleted["schedules"], "scheduled backups without S3")


def _report_schedules(applied: dict, what: str) -> None:
    """Say which servers' scheduled backups now use `what`; exit 1 naming those that could not
    be updated (the settings themselves are stored)."""
    if applied["servers_updated"]:
        click.echo(f"Scheduled backups on {', '.join(applied['servers_updated'])} now use {what}.")
    if applied["servers_failed"]:
        failed = "; ".join(f"{item['server']}: {item['error']}" for item in applied["servers_failed"])
        raise CommandError(f"the settings are stored, but these servers could not be updated: {failed}",
                           OPERATION_FAILED)


@s3.command("test")
@click.option("--server", "server_name", help="Server to test from (default: the only registered one).")
@json_option
@pass_app
def s3_test(app: App, server_name: str | None, as_json: bool) -> None:
    """Check from a server that the bucket can be listed, written, read and deleted."""
    from infrakt_backup.actions import s3_test as s3_test_action

    with _progress(as_json) as progress:
        result = s3_test_action.test_connection(
            app.store, server_name, progress=progress, verbosity=app.verbosity
        )
    if as_json:
        _echo_json(result)
    else:
        click.echo(f"Connection OK (list, write, read, delete): bucket {result['bucket']} at "
                   f"{result['endpoint_url']}, from server {result['server']}.")


# ---------------------------------------------------------------- settings encryption


@settings.group()
def encryption() -> None:
    """Encryption of backups with age, on the server, before they touch its disk or S3."""


def _echo_encryption(shown: dict) -> None:
    if not shown["enabled"]:
        click.echo("Backups are not encrypted." + (
            f" The stored age identity ({shown['identity_recipient']}) still decrypts the encrypted ones."
            if shown.get("identity_set") else ""))
        return
    click.echo(labelled([
        ("Encryption", "on (age)"),
        ("Recipients", ", ".join(shown["recipients"])),
        ("Stored identity", f"yes, recipient {shown['identity_recipient']}" if shown["identity_set"]
         else "none (restores need --identity-file)"),
        ("Updated", _readable(shown["updated_at"])),
    ]))


@encryption.command("init")
@pass_app
def encryption_init(app: App) -> None:
    """Make an age identity, keep it in the store (encrypted with the master key) and encrypt
    every new backup to its recipient; with an identity already stored, turn encryption on
    with it again."""
    from infrakt_backup.actions import settings_encryption

    with _progress(False) as progress:
        shown = settings_encryption.init(app.store, progress=progress)
    if shown["created"]:
        click.echo(f"New age identity stored. Backups are now encrypted to {shown['recipients'][0]}.")
    else:
        click.echo(f"Backups are now encrypted to the stored identity's recipient {shown['recipients'][0]}.")
    click.echo("Keep a copy of the identity away from this machine: without it no encrypted backup can be "
               "restored. Write it with: infrakt-backup settings encryption export-identity --output FILE")
    _report_schedules(shown["schedules"], "encryption")


@encryption.command("set")
@click.option("--recipient", "recipients", multiple=True, required=True, metavar="age1…",
              help="An age X25519 recipient (age-keygen -y prints it); repeat for several.")
@pass_app
def encryption_set(app: App, recipients: tuple[str, ...]) -> None:
    """Encrypt every new backup to these recipients, whose identities you keep elsewhere (a
    restore then needs --identity-file). A stored identity stays, for the backups made with it."""
    from infrakt_backup.actions import settings_encryption

    with _progress(False) as progress:
        shown = settings_encryption.set_recipients(app.store, list(recipients), progress=progress)
    click.echo(f"Backups are now encrypted to {', '.join(shown['recipients'])}.")
    _report_schedules(shown["schedules"], "encryption")


@encryption.command("show")
@json_option
@pass_app
def encryption_show(app: App, as_json: bool) -> None:
    """Show whether backups are encrypted, to which recipients, and whether an identity is stored."""
    from infrakt_backup.actions import settings_encryption

    shown = settings_encryption.show(app.store)
    if as_json:
        _echo_json(shown)
    else:
        _echo_encryption(shown)


@encryption.command("disable")
@pass_app
def encryption_disable(app: App) -> None:
    """Stop encrypting new backups; a stored identity is kept, so encrypted backups still restore."""
    from infrakt_backup.actions import settings_encryption

    with _progress(False) as progress:
        disabled = settings_encryption.disable(app.store, progress=progress)
    if not disabled["disabled"]:
        click.echo("Backups were not encrypted; nothing changed.")
        return
    click.echo("New backups are no longer encrypted." + (
        " The stored age identity is kept: encrypted backups still restore." if disabled["identity_kept"] else ""))
    _report_schedules(disabled["schedules"], "unencrypted backups")


@encryption.command("export-identity")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="New file to write (0600; an existing file is never overwritten).")
@pass_app
def encryption_export_identity(app: App, output: Path) -> None:
    """Write the stored age identity to a new file, in age-keygen's format: `age -d -i FILE`
    decrypts a downloaded backup with it. Keep it safe: it opens every encrypted backup."""
    from infrakt_backup.actions import settings_encryption

    exported = settings_encryption.export_identity(app.store, output)
    click.echo(f"Identity of {exported['recipient']} written to {exported['path']} (mode 0600).")


# ---------------------------------------------------------------- key


@cli.group()
def key() -> None:
    """The master key that encrypts the stored secrets."""


@key.command("rotate")
@pass_app
def key_rotate_command(app: App) -> None:
    """Re-encrypt every stored secret under a new master key and retire the old key."""
    from infrakt_backup.actions import key_rotate

    rotated = key_rotate.rotate(app.store)
    click.echo(f"Master key rotated: {rotated['secrets']} secret(s) re-encrypted. "
               f"{rotated['key_file']} now holds only the new key: back it up again.")


# ---------------------------------------------------------------- server


@cli.group()
def server() -> None:
    """The servers backups are made on."""


host_key_fingerprint_option = click.option(
    "--host-key-fingerprint", metavar="SHA256:…",
    help="Pin only the host key with this fingerprint (ssh-keygen -l on the server), refuse the server else.",
)


def _echo_pinned(host_keys: list[dict]) -> None:
    """Print the pinned host keys, one line each: type and SHA256 fingerprint."""
    for host_key in host_keys:
        click.echo(f"Host key pinned: {host_key['type']} {host_key['fingerprint']}")


@server.command("add")
@click.argument("name")
@click.option("--host", required=True, help="Host name or IP address to reach it over SSH.")
@click.option("--port", type=int, default=22, show_default=True)
@click.option("--user", default="root", show_default=True)
@click.option("--ssh-key", help="Private key file (default: ssh's own choice).")
@click.option("--python", default=DEFAULT_PYTHON, show_default=True, help="Python interpreter on the server.")
@click.option("--backup-dir", default=DEFAULT_BACKUP_DIR, show_default=True, help="Where backups are kept there.")
@host_key_fingerprint_option
@pass_app
def server_add(app: App, name: str, host: str, port: int, user: str, ssh_key: str | None, python: str,
               backup_dir: str, host_key_fingerprint: str | None) -> None:
    """Register server NAME and pin its SSH host key: later runs accept no other."""
    from infrakt_backup.actions import server as server_actions

    added = server_actions.add(app.store, name, host=host, port=port, user=user, ssh_key=ssh_key, python=python,
                               backup_dir=backup_dir, host_key_fingerprint=host_key_fingerprint)
    click.echo(f"Server {added['name']} added ({added['user']}@{added['host']}, port {added['port']}).")
    _echo_pinned(added["host_keys"])
    if added["host_key_error"]:
        click.echo(f"{PROG}: warning: {added['host_key_error']}: no host key is pinned, and runs refuse the server "
                   f"until 'infrakt-backup server pin {added['name']}' succeeds", err=True)
    else:
        click.echo(f"Next: infrakt-backup server provision {added['name']}")


@server.command("pin")
@click.argument("name")
@host_key_fingerprint_option
@pass_app
def server_pin(app: App, name: str, host_key_fingerprint: str | None) -> None:
    """Pin the SSH host key server NAME has now, in place of the one pinned before (after a
    deliberate key change)."""
    from infrakt_backup.actions import server as server_actions

    _echo_pinned(server_actions.pin(app.store, name, host_key_fingerprint=host_key_fingerprint)["host_keys"])


@server.command("list")
@json_option
@pass_app
def server_list(app: App, as_json: bool) -> None:
    """List the registered servers."""
    from infrakt_backup.actions import server as server_actions

    servers = server_actions.list_servers(app.store)
    if as_json:
        _echo_json(servers)
    elif not servers:
        click.echo("No server is registered. Add one with: infrakt-backup server add NAME --host HOST")
    else:
        click.echo(table_of(servers, SERVER_COLUMNS))


@server.command("remove")
@click.argument("name")
@pass_app
def server_remove(app: App, name: str) -> None:
    """Forget server NAME (nothing on the server is touched)."""
    from infrakt_backup.actions import server as server_actions

    server_actions.remove(app.store, name)
    click.echo(f"Server {name} removed.")


@server.command("provision")
@click.argument("name")
@json_option
@pass_app
def server_provision(app: App, name: str, as_json: bool) -> None:
    """Install the AWS CLI on server NAME."""
    from infrakt_backup.actions import server_provision as server_provision_action

    with _progress(as_json) as progress:
        result = server_provision_action.provision(app.store, name, progress=progress, verbosity=app.verbosity)
    if as_json:
        _echo_json(result)
    else:
        click.echo(f"Server {result['server']} is ready: aws CLI at {result['aws_bin']}.")


# ---------------------------------------------------------------- db


@cli.group()
def db() -> None:
    """The databases to back up."""


@db.command("add")
@click.argument("name")
@click.option("--server", "server_name", required=True, help="Registered server the database runs on.")
@click.option("--engine", required=True, type=click.Choice(sorted(names.ENGINE_EXTENSIONS)))
@click.option("--database", help="Database name in the engine (default: the engine's default).")
@click.option("--user")
@click.option("--host", help="Database host as seen from the server, or a socket directory.")
@click.option("--port", type=int)
@click.option("--container", help="Run the dump tools inside this Docker container.")
@click.option("--restart-command", help="redis only: command that starts redis again after a restore.")
@click.option("--data-dir", help="redis only: its data dir (absolute); a restore writes nowhere else.")
@click.option("--no-local-copy", is_flag=True,
              help="Stream backups to S3 only, keeping nothing on the server (a failed upload is no backup).")
@click.option("--compression", type=click.Choice(sorted(names.COMPRESSION_SUFFIXES)), default="zstd",
              show_default=True, help="How backups are compressed; the filename says it (.zst, .gz, nothing).")
@click.option("--password-stdin", is_flag=True,
              help=f"Read the password from stdin (else ${DB_PASSWORD_ENV}, else a hidden prompt on a terminal).")
@pass_app
def db_add(app: App, name: str, server_name: str, engine: str, database: str | None, user: str | None,
           host: str | None, port: int | None, container: str | None, restart_command: str | None,
           data_dir: str | None, no_local_copy: bool, compression: str, password_stdin: bool) -> None:
    """Register database NAME on a server.

    The password is never a flag: it comes from stdin (--password-stdin), from
    $INFRAKT_DB_PASSWORD, or from a hidden prompt on a terminal; it may be empty (e.g. local
    socket authentication), and without a terminal nor any of those there is none.
    """
    from infrakt_backup.actions import db as db_actions

    password = _read_stdin_secret() if password_stdin else os.environ.get(DB_PASSWORD_ENV)

    def ask_password() -> str | None:
        if not _stdin_is_terminal():
            return None
        return click.prompt("Database password (empty for none)", hide_input=True, default="", show_default=False,
                            err=True)

    added = db_actions.add(
        app.store, name, server=server_name, engine=engine, database=database, user=user, host=host, port=port,
        container=container, password=password, restart_command=restart_command, data_dir=data_dir,
        local_copy=not no_local_copy, compression=compression, ask_password=ask_password,
    )
    click.echo(f"Database {added['name']} added: {added['engine']} on server {added['server']}.")


@db.command("list")
@json_option
@pass_app
def db_list(app: App, as_json: bool) -> None:
    """List the registered databases."""
    from infrakt_backup.actions import db as db_actions

    databases = db_actions.list_databases(app.store)
    if as_json:
        _echo_json(databases)
    elif not databases:
        click.echo("No database is registered. Add one with: infrakt-backup db add NAME --server S --engine E")
    else:
        click.echo(table_of([{**d, "password": "set" if d["password_set"] else None} for d in databases],
                            DATABASE_COLUMNS))


@db.command("remove")
@click.argument("name")
@pass_app
def db_remove(app: App, name: str) -> None:
    """Forget database NAME (its backups stay where they are)."""
    from infrakt_backup.actions import db as db_actions

    db_actions.remove(app.store, name)
    click.echo(f"Database {name} removed; its backups were left where they are.")


# ---------------------------------------------------------------- backup


@cli.group()
def backup() -> None:
    """Create, list and restore backups."""


def forks_option(help_text: str):
    """Add --forks N: how many servers one run works on at once."""
    return click.option("--forks", type=int, default=DEFAULT_FORKS, show_default=True, metavar="N", help=help_text)


@backup.command("create")
@click.argument("db_names", metavar="[DB]...", nargs=-1)
@click.option("--server", "server_name", metavar="NAME", help="Back up every database of server NAME.")
@click.option("--all", "all_databases", is_flag=True, help="Back up every registered database.")
@forks_option("Servers backed up at once (the databases of one server one after another).")
@click.option("--no-upload", is_flag=True, help="Keep the backups on the servers only.")
@timeout_options
@json_option
@pass_app
def backup_create(app: App, db_names: tuple[str, ...], server_name: str | None, all_databases: bool, forks: int,
                  no_upload: bool, timeout: int | None, lock_timeout: int | None, as_json: bool) -> None:
    """Back up databases on their servers, then upload each from there when S3 is configured:
    the databases DB…, every database of --server NAME, or --all, in one run (the servers in
    parallel). Several databases print a table, --json a list of rows, and exit 1 when any
    failed (the others are done); one DB prints its backup, --json one object."""
    from infrakt_backup.actions import backup_create as backup_create_action

    if len(db_names) == 1 and server_name is None and not all_databases:
        _create_one(app, db_names[0], no_upload, timeout, lock_timeout, as_json)
        return
    with _progress(as_json) as progress:
        created = backup_create_action.create_backups(
            app.store, list(db_names), all_databases=all_databases, server_name=server_name, upload=not no_upload,
            timeout=timeout, lock_timeout=lock_timeout, forks=forks, progress=progress, verbosity=app.verbosity,
        )
    if as_json:
        _echo_json(created["backups"])
    else:
        click.echo(table(
            ["DATABASE", "SERVER", "FILE", "SIZE", "LOCATION", "DURATION", "ERROR"],
            [[row["database"], row["server"], row["filename"], human_size(row["size"]), row["location"],
              _duration_text(row["duration_s"]), row["error"]] for row in created["backups"]],
        ))
    if not created["ok"]:
        raise click.exceptions.Exit(OPERATION_FAILED)


def _create_one(app: App, db_name: str, no_upload: bool, timeout: int | None, lock_timeout: int | None,
                as_json: bool) -> None:
    """`backup create DB`: back up one database and print its backup (an error line if it failed)."""
    from infrakt_backup.actions import backup_create as backup_create_action

    with _progress(as_json) as progress:
        created = backup_create_action.create_backup(
            app.store, db_name, upload=not no_upload, timeout=timeout, lock_timeout=lock_timeout,
            progress=progress, verbosity=app.verbosity,
        )
    if as_json:
        _echo_json(created)
    else:
        click.echo(f"Backup created: {created['filename']}")
        click.echo(labelled([
            ("Size", human_size(created["size"])),
            ("SHA-256", created["sha256"]),
            ("Location", created["location"]),
        ], indent="  "))


def _duration_text(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


@backup.command("list")
@click.argument("db_name", metavar="DB")
@json_option
@pass_app
def backup_list(app: App, db_name: str, as_json: bool) -> None:
    """List the backups of database DB on its server and in S3, newest first."""
    from infrakt_backup.actions import backup_list as backup_list_action

    with _progress(as_json) as progress:
        listed = backup_list_action.list_backups(app.store, db_name, progress=progress, verbosity=app.verbosity)
    backups = sorted(listed["backups"], key=lambda item: item["created"], reverse=True)
    if as_json:
        _echo_json(backups)
    elif not backups:
        click.echo(f"No backups of {db_name} yet.")
    else:
        click.echo(table(
            ["FILENAME", "SIZE", "CREATED (UTC)", "LOCATION", "ENCRYPTED", "SIGNATURE"],
            [[b["filename"], human_size(b["size"]), _readable(b["created"]).removesuffix(" UTC"),
              LOCATION_LABELS.get(b["location"], b["location"]), ENCRYPTED_LABEL if b["encrypted"] else None,
              b["signature"]] for b in backups],
        ))
    if listed["s3_error"]:
        # The local list is printed (--json too, so scripts keep working) and the exit code says
        # the listing is incomplete.
        click.echo(f"{PROG}: warning: S3 could not be listed, only the server's local backups are shown: "
                   f"{listed['s3_error']}", err=True)
        raise click.exceptions.Exit(OPERATION_FAILED)


@backup.command("prune")
@click.argument("db_name", metavar="DB")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@json_option
@pass_app
def backup_prune(app: App, db_name: str, dry_run: bool, as_json: bool) -> None:
    """Apply the retention of database DB now (its schedule's, else 7 local copies and every S3
    copy kept): on its server and in S3. The newest backup, and a local copy S3 lacks, stay."""
    from infrakt_backup.actions import backup_prune as backup_prune_action

    with _progress(as_json) as progress:
        pruned = backup_prune_action.prune(app.store, db_name, dry_run, progress=progress,
                                           verbosity=app.verbosity)
    if as_json:
        _echo_json(pruned)
        return
    verb = "Would delete" if dry_run else "Deleted"
    for where, side in (("on the server", pruned["local"]), ("in S3", pruned["s3"])):
        if side is None:
            continue
        deleted = side["deleted"]
        click.echo(f"{verb} {len(deleted)} backup{'' if len(deleted) == 1 else 's'} {where}, "
                   f"kept {len(side['kept'])}" + (":" if deleted else "."))
        for filename in deleted:
            click.echo(f"  {filename}")


@backup.command("restore")
@click.argument("db_name", metavar="DB")
@click.argument("filename")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@identity_file_option
@click.option("--allow-unsigned", is_flag=True,
              help="Also restore a backup without a valid signature (made before signed manifests, by hand, or "
                   "signed with a lost key).")
@timeout_options
@json_option
@pass_app
def backup_restore(app: App, db_name: str, filename: str, yes: bool, identity_file: Path | None, allow_unsigned: bool,
                   timeout: int | None, lock_timeout: int | None, as_json: bool) -> None:
    """Restore database DB from backup FILENAME (a name from `backup list`), replacing its data.
    An encrypted backup is decrypted on the server with the stored identity, or the one of
    --identity-file, sent for this restore alone.

    Only a backup whose sidecar carries this installation's signature of it (`backup list`:
    verified) is restored, unless --allow-unsigned."""
    from infrakt_backup.actions import backup_restore as backup_restore_action

    def confirm(target: dict) -> bool:
        if not _stdin_is_terminal():
            raise BadInput(f"restoring replaces the current data of {target['database']}: pass --yes to confirm")
        return click.confirm(f"Restore {target['filename']} into {target['database']} ({target['engine']} on server "
                             f"{target['server']})? Its current data will be replaced.", default=False, err=True)

    with _progress(as_json) as progress:
        restored = backup_restore_action.restore_backup(
            app.store, db_name, filename, confirm=None if yes else confirm, timeout=timeout, lock_timeout=lock_timeout,
            identity_file=identity_file, allow_unsigned=allow_unsigned, progress=progress,
            verbosity=app.verbosity,
        )
    if as_json:
        _echo_json(restored)
    else:
        notes = [note for note, applies in (("downloaded from S3", restored.get("downloaded")),
                                            ("sha256 verified", restored.get("sha256")),
                                            ("signature verified", restored.get("signature") == "verified"),
                                            (f"{restored.get('signature')}, allowed", allow_unsigned and
                                             restored.get("signature") not in (None, "verified"))) if applies]
        click.echo(f"Restored {db_name} on server {restored['server']} from {filename}"
                   + (f" ({', '.join(notes)})." if notes else "."))


@backup.command("verify")
@click.argument("db_name", metavar="DB")
@click.argument("filename", required=False)
@click.option("--latest", is_flag=True, help="Verify the newest backup (the default without FILENAME).")
@click.option("--restore", is_flag=True,
              help="Also restore it on the database's server into scratch space (removed afterwards) and count "
                   "what arrived.")
@click.option("--allow-unsigned", is_flag=True, help="Also verify a backup without a valid signature.")
@identity_file_option
@timeout_options
@json_option
@pass_app
def backup_verify(app: App, db_name: str, filename: str | None, latest: bool, restore: bool, allow_unsigned: bool,
                  identity_file: Path | None, timeout: int | None, lock_timeout: int | None, as_json: bool) -> None:
    """Verify a backup of database DB as it streams from S3 (its local copy without S3): its
    signature, sha256 and archive format; with --restore, a restore drill. Nothing is kept; the
    outcome goes into the database's status (`status` shows it).

    An encrypted backup is decrypted on the server in the stream with the stored identity, or
    the one of --identity-file, sent for this drill alone; with none, only its age header is
    checked (as scheduled drills do: the server never keeps the identity)."""
    from infrakt_backup.actions import backup_verify as backup_verify_action

    if latest and filename:
        raise BadInput("give FILENAME or --latest, not both")
    with _progress(as_json) as progress:
        verified = backup_verify_action.verify_backup(
            app.store, db_name, filename, restore=restore, allow_unsigned=allow_unsigned, identity_file=identity_file,
            timeout=timeout, lock_timeout=lock_timeout, progress=progress, verbosity=app.verbosity,
        )
    if as_json:
        _echo_json(verified)
        return
    click.echo(f"Backup verified: {verified['filename']} ({'S3' if verified['source'] == 's3' else 'local copy'})")
    rows = [("Size", human_size(verified["size"])), ("SHA-256", verified["sha256"]),
            ("Signature", verified["signature"] or "not checked")]
    if verified.get("encrypted"):
        rows.append(("Encryption", "age, decrypted" if verified.get("decrypted") else
                     "age, not decrypted (no identity: give --identity-file)"))
    rows.append(("Format", verified["format"]))
    if verified["restored"]:
        rows.append(("Restored", _counts_text(verified["counts"]) + " (scratch space removed)"))
    elif restore:
        rows.append(("Restored", "no: an encrypted backup needs its identity (--identity-file) to be restored"))
    rows.append(("Duration", f"{verified['duration_s']} s"))
    click.echo(labelled(rows, indent="  "))


def _counts_text(counts: dict | None) -> str:
    """Return what a drill's counts say: `2 tables, 1250 rows` or `3 keys`."""
    if not counts:
        return "-"
    return ", ".join(f"{value} {name}" for name, value in counts.items())


# ---------------------------------------------------------------- schedule, status


@cli.group()
def schedule() -> None:
    """Scheduled backups (cron on the database's server, uploading from there)."""


def _notify_url(notify: bool | None, notify_url_stdin: bool):
    """Return the ping URL for `schedule set`: None for --no-notify, store.KEEP when neither flag
    is given, else read from stdin, $INFRAKT_NOTIFY_URL or a hidden prompt (never a flag value:
    the URL's path is its token)."""
    from infrakt_backup.store import KEEP

    if notify is False:
        return None
    if notify is None and not notify_url_stdin:
        return KEEP
    if notify_url_stdin:
        return _read_stdin_secret()
    if os.environ.get(NOTIFY_URL_ENV):
        return os.environ[NOTIFY_URL_ENV]
    if not _stdin_is_terminal():
        raise BadInput(f"no ping URL: set ${NOTIFY_URL_ENV} or pipe it with --notify-url-stdin")
    return click.prompt("Ping URL (healthchecks.io-compatible)", hide_input=True, err=True)


def _count_option(name: str, help_text: str):
    return click.option(name, type=int, metavar="N", help=help_text)


@schedule.command("set")
@click.argument("db_name", metavar="DB")
@click.option("--cron", required=True, metavar="EXPR",
              help="Five cron fields, or @hourly, @daily, @weekly, @monthly, @yearly (the server's time zone).")
@_count_option("--keep-local", "Backups kept on the server (default: the stored value, else 7).")
@_count_option("--keep-last", "S3: keep the N newest.")
@_count_option("--keep-daily", "S3: keep the newest of each of the last N days with backups.")
@_count_option("--keep-weekly", "S3: keep the newest of each of the last N weeks with backups.")
@_count_option("--keep-monthly", "S3: keep the newest of each of the last N months with backups.")
@click.option("--notify/--no-notify", default=None,
              help=f"Ping a healthchecks.io-compatible URL (from ${NOTIFY_URL_ENV}, else a hidden prompt) "
                   "at start, success and failure; --no-notify stops pinging.")
@click.option("--notify-url-stdin", is_flag=True, help="Read the ping URL from stdin (implies --notify).")
@click.option("--verify-cron", metavar="EXPR",
              help="Also run a restore drill of the newest backup on this schedule (as `backup verify --latest "
                   "--restore`), with the backups' lock and pings; default: the stored one.")
@click.option("--no-verify-cron", is_flag=True, help="Stop the scheduled restore drills.")
@json_option
@pass_app
def schedule_set(app: App, db_name: str, cron: str, keep_local: int | None, keep_last: int | None,
                 keep_daily: int | None, keep_weekly: int | None, keep_monthly: int | None, notify: bool | None,
                 notify_url_stdin: bool, verify_cron: str | None, no_verify_cron: bool, as_json: bool) -> None:
    """Install or update the scheduled backups of database DB on its server. Retention left out
    stays as stored; in S3 everything is kept until a --keep-* rule is set."""
    from infrakt_backup.actions import schedule as schedule_action
    from infrakt_backup.store import KEEP

    with _progress(as_json) as progress:
        saved = schedule_action.set_schedule(
            app.store, db_name, cron=cron, keep_local=keep_local, keep_last=keep_last, keep_daily=keep_daily,
            keep_weekly=keep_weekly, keep_monthly=keep_monthly, notify_url=_notify_url(notify, notify_url_stdin),
            verify_cron=None if no_verify_cron else (verify_cron if verify_cron is not None else KEEP),
            progress=progress, verbosity=app.verbosity,
        )
    if as_json:
        _echo_json(saved)
    else:
        drills = f", restore drills {saved['verify_cron']}" if saved["verify_cron"] else ""
        click.echo(f"Scheduled backups of {db_name} installed on {saved['server']}: {saved['cron']}, "
                   f"{_retention_text(saved)}{drills}.")


def _retention_text(shown: dict) -> str:
    rules = [f"{rule} {shown['keep_' + rule]}" for rule in retention.RULES if shown["keep_" + rule] is not None]
    return f"keep {shown['keep_local']} on the server, in S3 " + (", ".join(rules) if rules else "everything")


@schedule.command("list")
@json_option
@pass_app
def schedule_list(app: App, as_json: bool) -> None:
    """List the scheduled backups."""
    from infrakt_backup.actions import schedule as schedule_action

    schedules = schedule_action.list_schedules(app.store)
    if as_json:
        _echo_json(schedules)
    elif not schedules:
        click.echo("No scheduled backups yet.")
    else:
        click.echo(table(
            ["DATABASE", "SERVER", "CRON", "RETENTION", "NOTIFY", "INSTALLED"],
            [[item["database"], item["server"], item["cron"], _retention_text(item), item["notify_url"] or "-",
              "yes" if item["installed"] else "no"] for item in schedules],
        ))


@schedule.command("remove")
@click.argument("db_name", metavar="DB")
@json_option
@pass_app
def schedule_remove(app: App, db_name: str, as_json: bool) -> None:
    """Remove the scheduled backups of database DB from its server (backups already made stay)."""
    from infrakt_backup.actions import schedule as schedule_action

    with _progress(as_json) as progress:
        removed = schedule_action.remove_schedule(app.store, db_name, progress=progress,
                                                  verbosity=app.verbosity)
    if as_json:
        _echo_json(removed)
    else:
        click.echo(f"Scheduled backups of {db_name} removed from {removed['server']}.")


@cli.command("status")
@click.option("--max-age", type=float, default=26, show_default=True, metavar="HOURS",
              help="A scheduled database whose last success is older than this is not ok.")
@forks_option("Servers read at once.")
@json_option
@pass_app
def status_command(app: App, max_age: float, forks: int, as_json: bool) -> None:
    """Show what the last backup of every database did, from all servers at once; exit 1 when
    any is not ok (usable as a monitoring check)."""
    from infrakt_backup.actions import status as status_action

    with _progress(as_json) as progress:
        report = status_action.status(app.store, max_age, forks=forks, progress=progress, verbosity=app.verbosity)
    rows = report["databases"]
    if as_json:
        _echo_json(rows)
    elif not rows:
        click.echo("No databases registered yet.")
    else:
        click.echo(table(
            ["DATABASE", "SERVER", "SCHEDULE", "OK", "LAST SUCCESS", "AGE", "LAST ATTEMPT", "SIZE", "LOCATION",
             "LAST DRILL", "ERROR"],
            [[row["database"], row["server"], row["schedule"] or "-", "yes" if row["ok"] else "NO",
              _readable(row["last_success"]), _age_text(row["age_seconds"]), _readable(row["last_attempt"]),
              human_size(row["size"]), row["location"] or "-", _drill_text(row), row["error"] or "-"]
             for row in rows],
        ))
    if not report["ok"]:
        raise click.exceptions.Exit(OPERATION_FAILED)


def _drill_text(row: dict) -> str:
    """Return the status table's LAST DRILL cell: `passed 2026-12-01 22:40 UTC, 2 tables, 1250 rows, 3.1 s`."""
    if not row.get("last_verified"):
        return "-"
    parts = [f"{row['verify_result']} {_readable(row['last_verified'])}"]
    if row.get("verify_counts"):
        parts.append(_counts_text(row["verify_counts"]))
    if row.get("verify_duration_s") is not None:
        parts.append(f"{row['verify_duration_s']} s")
    return ", ".join(parts)


def _age_text(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}h{rest // 60:02d}m"


# ---------------------------------------------------------------- web


@cli.command("web")
@click.option("--listen", default="127.0.0.1:8787", show_default=True, metavar="HOST:PORT",
              help="Address to serve the page and the API on.")
@click.option("--allow-remote", is_flag=True, help="Allow an address other machines can reach (no TLS).")
@pass_app
def web(app: App, listen: str, allow_remote: bool) -> None:
    """Serve the web page and the REST API until interrupted; print the login URL.

    The token in the URL is random, or $INFRAKT_WEB_TOKEN: tools send it as `Authorization:
    Bearer <token>`, a browser opening the URL gets a session cookie for it. Needs the `web`
    extra: pip install 'infrakt-backup[web]'.
    """
    try:
        from infrakt_backup import web as web_server
    except ImportError as error:
        raise CommandError(f"the web page needs the web extra ({error.name} is missing): "
                           "pip install 'infrakt-backup[web]'", OPERATION_FAILED) from None

    def announce(line: str, warning: bool) -> None:
        click.echo(f"{PROG}: warning: {line}" if warning else f"Open {line}", err=warning)

    web_server.serve(app.store, listen, allow_remote=allow_remote, announce=announce)
