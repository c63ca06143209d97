"""The wrapper's configuration: S3 settings, servers and databases in SQLite (INFRAKT_HOME/infrakt.db),
secrets Fernet-encrypted with INFRAKT_HOME/master.key.

Store methods return plain frozen dataclasses, detached from any session, with secrets
decrypted (their repr shows `****`); their fields, in order, are also the keys of what the
actions return for them (json_ready.entry_dict). Every transaction starts with BEGIN
IMMEDIATE: it holds SQLite's write lock from the start, so the key file is read, created or
rotated by one process at a time and no secret is ever encrypted under a key that is being
retired.
"""

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import URL, DateTime, ForeignKey, create_engine, event, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from ansible_collections.infrakt.backup.plugins.module_utils import tmpfs
from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import DEFAULT_BACKUP_DIR
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import DEFAULT_AWS_BIN
from infrakt_backup import migrations
from infrakt_backup.crypto import KeyFile, SecretCipher, new_key
from infrakt_backup.errors import BadInput, InfraktError, NotFound

DB_FILENAME = "infrakt.db"
KEY_FILENAME = "master.key"
DEFAULT_PYTHON = "/usr/bin/python3"


def default_home() -> Path:
    """Return INFRAKT_HOME, or ~/.infrakt when it is unset or empty."""
    return Path(os.environ.get("INFRAKT_HOME") or "~/.infrakt").expanduser()


# ---------------------------------------------------------------- what callers get back

# Field metadata of the secrets: their repr is `****`; json_ready.entry_dict shows a
# MASKED_SECRET masked, a SET_ONLY_SECRET only as `<field>_set`, whether one is stored.
MASKED_SECRET = {"secret": "masked"}
SET_ONLY_SECRET = {"secret": "set_only"}


class _MaskedRepr:
    """A dataclass repr that shows `****` for secret fields (so a secret never lands in a log
    or a traceback through repr)."""

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.metadata.get("secret") and value is not None:
                value = "****"
            shown.append(f"{item.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


@dataclass(frozen=True, repr=False)
class S3Settings(_MaskedRepr):
    """The global S3 configuration; `prefix` is normalized ('' for none)."""

    provider: str
    endpoint_url: str
    bucket: str
    region: str
    prefix: str
    access_key: str
    secret_key: str = field(metadata=MASKED_SECRET)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, repr=False)
class ServerEntry(_MaskedRepr):
    """A server backups are made on, reached over SSH."""

    name: str
    host: str
    port: int
    user: str
    ssh_key_path: str | None
    python_interpreter: str
    aws_bin: str
    backup_dir: str
    created_at: datetime


@dataclass(frozen=True, repr=False)
class DatabaseEntry(_MaskedRepr):
    """A database backed up on server `server` (a server name); None means "the engine's default"."""

    name: str
    server: str
    engine: str
    database: str | None
    user: str | None
    host: str | None
    port: int | None
    container: str | None
    password: str | None = field(metadata=SET_ONLY_SECRET)
    restart_command: str | None
    data_dir: str | None
    local_copy: bool
    compression: str | None
    created_at: datetime


@dataclass(frozen=True, repr=False)
class ScheduleEntry(_MaskedRepr):
    """The scheduled backups of database `db_name`: a cron expression, the retention (keep_local
    copies on the server; in S3 keep_last/daily/weekly/monthly, None for "no such rule", all
    None: keep everything), the ping URL, the cron expression of its scheduled restore drills
    (None: none), and whether the server has them installed."""

    db_name: str
    cron: str
    keep_local: int
    keep_last: int | None
    keep_daily: int | None
    keep_weekly: int | None
    keep_monthly: int | None
    notify_url: str | None = field(metadata=MASKED_SECRET)
    verify_cron: str | None
    installed: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, repr=False)
class EncryptionSettings(_MaskedRepr):
    """The encryption of backups with age: whether new backups are encrypted (`enabled`), the
    recipients they are encrypted to, and the identity stored by `settings encryption init`
    (None when the identities are kept elsewhere) with its recipient."""

    enabled: bool
    recipients: tuple[str, ...]
    identity_recipient: str | None
    identity: str | None = field(metadata=SET_ONLY_SECRET)
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- tables (latest schema version)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime, stored naive (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.astimezone(UTC).replace(tzinfo=None) if value is not None else None

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class S3ConfigRow(Base):
    __tablename__ = "s3_config"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str]
    endpoint_url: Mapped[str]
    bucket: Mapped[str]
    region: Mapped[str]
    access_key: Mapped[str]
    secret_key_encrypted: Mapped[str]
    prefix: Mapped[str]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ServerRow(Base):
    __tablename__ = "servers"

    name: Mapped[str] = mapped_column(primary_key=True)
    host: Mapped[str]
    port: Mapped[int]
    user: Mapped[str]
    ssh_key_path: Mapped[str | None]
    python_interpreter: Mapped[str]
    aws_bin: Mapped[str]
    backup_dir: Mapped[str]
    created_at: Mapped[datetime]


class DatabaseRow(Base):
    __tablename__ = "databases"

    name: Mapped[str] = mapped_column(primary_key=True)
    server_name: Mapped[str] = mapped_column(ForeignKey("servers.name", ondelete="RESTRICT"), index=True)
    engine: Mapped[str]
    database: Mapped[str | None]
    user: Mapped[str | None]
    host: Mapped[str | None]
    port: Mapped[int | None]
    container: Mapped[str | None]
    password_encrypted: Mapped[str | None]
    restart_command: Mapped[str | None]
    data_dir: Mapped[str | None]
    local_copy: Mapped[bool] = mapped_column(server_default="1")
    compression: Mapped[str | None]
    created_at: Mapped[datetime]


class ScheduleRow(Base):
    __tablename__ = "schedules"

    db_name: Mapped[str] = mapped_column(ForeignKey("databases.name", ondelete="RESTRICT"), primary_key=True)
    cron: Mapped[str]
    keep_local: Mapped[int]
    keep_last: Mapped[int | None]
    keep_daily: Mapped[int | None]
    keep_weekly: Mapped[int | None]
    keep_monthly: Mapped[int | None]
    notify_url_encrypted: Mapped[str | None]
    verify_cron: Mapped[str | None]
    installed: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EncryptionRow(Base):
    __tablename__ = "encryption"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipients: Mapped[str]  # one per line
    identity_encrypted: Mapped[str | None]
    identity_recipient: Mapped[str | None]
    enabled: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SigningKeyRow(Base):
    """The installation's signing key of backup manifests (signing.py), one row."""

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_encrypted: Mapped[str]
    created_at: Mapped[datetime]


# the encrypted columns: rotate_key re-encrypts them, _keys checks the key against one of them
ENCRYPTED_COLUMNS = (
    S3ConfigRow.secret_key_encrypted, DatabaseRow.password_encrypted, ScheduleRow.notify_url_encrypted,
    EncryptionRow.identity_encrypted, SigningKeyRow.key_encrypted,
)
# what save_schedule keeps when it is given no new ping URL
KEEP = object()


def _entry(entry_class: type, row: Base, **computed):
    """Return an `entry_class` holding each of its fields from the same-named column of `row`,
    or from `computed` for a field whose column is named otherwise or holds a ciphertext."""
    return entry_class(**{
        item.name: computed[item.name] if item.name in computed else getattr(row, item.name)
        for item in fields(entry_class)
    })


# ---------------------------------------------------------------- the store


def _create_private(path: Path, directory: bool) -> None:
    """Create `path` (a directory 0700 or an empty file 0600) unless it exists, and make sure
    it has that mode."""
    mode = 0o700 if directory else 0o600
    if directory:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    else:
        with suppress(FileExistsError):
            tmpfs.write_private_file(path, "")
    os.chmod(path, mode)


def _check_home_is_ours(home: Path) -> None:
    """Raise InfraktError when an existing `home` is not a directory we may make private: one of
    another user, or one holding other things than a config (INFRAKT_HOME=/tmp or --home /
    would otherwise have that directory turned 0700)."""
    try:
        info = home.stat()  # a symlinked home is fine: the directory it names is checked
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        raise InfraktError(f"{home} is not a directory")
    if info.st_uid != os.geteuid():
        raise InfraktError(f"{home} belongs to another user (uid {info.st_uid}); choose your own config directory")
    if any(home.iterdir()) and not (home / DB_FILENAME).exists():
        raise InfraktError(f"{home} holds other files and no {DB_FILENAME}: choose a new or empty config directory")


class Store:
    """The configuration in `home` (default: INFRAKT_HOME or ~/.infrakt), created and migrated
    to the latest schema on first use."""

    def __init__(self, home: Path | None = None):
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.db_path = self.home / DB_FILENAME
        self.key_file = KeyFile(self.home / KEY_FILENAME)
        try:
            _check_home_is_ours(self.home)
            _create_private(self.home, directory=True)
            _create_private(self.db_path, directory=False)
        except OSError as error:
            raise InfraktError(f"cannot create {error.filename or self.home}: {error.strerror}") from None
        # hide_parameters: no value (not even a ciphertext) in a database error message.
        self._engine = create_engine(
            URL.create("sqlite", database=str(self.db_path)), poolclass=NullPool, hide_parameters=True
        )
        event.listen(self._engine, "connect", _configure_connection)
        event.listen(self._engine, "begin", _begin_immediate)
        with self._transaction() as session:
            migrations.migrate(session.connection())

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """Yield a session in a transaction holding the write lock, committed on success."""
        try:
            with Session(self._engine) as session, session.begin():
                yield session
        except DBAPIError as error:
            raise InfraktError(f"{self.db_path}: {error.orig}") from None

    # ---------------------------------------------------------------- keys

    def _keys(self, session: Session) -> list[bytes]:
        """Return the key file's keys, creating the file when there is none and no secret is
        stored yet. Raise InfraktError naming the key file when it is missing while secrets
        exist, or cannot decrypt them (so that nothing new is encrypted under a wrong key)."""
        sample = next(
            (token for column in ENCRYPTED_COLUMNS
             for token in session.scalars(select(column).where(column.is_not(None)).limit(1))),
            None,
        )
        keys = self.key_file.read()
        if keys is None:
            if sample is not None:
                raise InfraktError(
                    f"the master key file {self.key_file.path} is missing, but {self.db_path} holds secrets "
                    "encrypted with it: restore the key file"
                )
            keys = [new_key()]
            self.key_file.write(keys)
        if sample is not None:
            SecretCipher(keys, self.key_file.path).decrypt(sample)
        return keys

    def _cipher(self, session: Session) -> SecretCipher:
        return SecretCipher(self._keys(session), self.key_file.path)

    def rotate_key(self) -> int:
        """Encrypt every stored secret under a new key and retire the old keys; return how
        many secrets were re-encrypted.

        Crash-safe: the new key is written in front of the old ones first, the secrets are
        re-encrypted in one transaction, and the old keys are dropped only afterwards, once
        every secret is checked to open with the new key alone.
        """
        with self._transaction() as session:
            old_keys = self._keys(session)
            key = new_key()
            self.key_file.write([key, *old_keys])
            cipher = SecretCipher([key, *old_keys], self.key_file.path)
            rotated = 0
            for column in ENCRYPTED_COLUMNS:
                for row in session.scalars(select(column.class_).where(column.is_not(None))):
                    setattr(row, column.key, cipher.rotate(getattr(row, column.key)))
                    rotated += 1
        with self._transaction() as session:
            keys = self.key_file.read()
            # Another rotation may have come in between: then it owns the key file.
            if keys and keys[0] == key and len(keys) > 1:
                new_only = SecretCipher([key], self.key_file.path)
                for column in ENCRYPTED_COLUMNS:
                    for token in session.scalars(select(column).where(column.is_not(None))):
                        new_only.decrypt(token)
                self.key_file.write([key])
        return rotated

    # ---------------------------------------------------------------- signing key

    def signing_key(self) -> str:
        """Return the installation's signing key of backup manifests (64 hex characters),
        generating it on first use. The transaction holds the write lock from its start, so
        concurrent first uses agree on one key."""
        with self._transaction() as session:
            row = session.get(SigningKeyRow, 1)
            cipher = self._cipher(session)
            if row is not None:
                return cipher.decrypt(row.key_encrypted)
            key = secrets.token_hex(32)
            session.add(SigningKeyRow(id=1, key_encrypted=cipher.encrypt(key), created_at=datetime.now(UTC)))
            return key

    # ---------------------------------------------------------------- S3 settings

    def s3_config(self) -> S3Settings | None:
        """Return the S3 settings with the secret decrypted, or None when not configured."""
        with self._transaction() as session:
            row = session.get(S3ConfigRow, 1)
            if row is None:
                return None
            return _entry(S3Settings, row, secret_key=self._cipher(session).decrypt(row.secret_key_encrypted))

    def save_s3_config(
        self, *, provider: str, endpoint_url: str, bucket: str, region: str, access_key: str,
        prefix: str = "", secret_key: str | None = None,
    ) -> S3Settings:
        """Create or replace the S3 settings (values already validated); `secret_key` None keeps
        the stored secret. Return the saved settings. Raise BadInput when there is no secret
        to keep."""
        now = datetime.now(UTC)
        with self._transaction() as session:
            row = session.get(S3ConfigRow, 1)
            if row is None and secret_key is None:
                raise BadInput("an S3 secret key is required")
            # Encrypt before adding a row: the key lookup's query would flush a half-filled row.
            token = self._cipher(session).encrypt(secret_key) if secret_key is not None else None
            if row is None:
                row = S3ConfigRow(id=1, created_at=now)
                session.add(row)
            row.provider, row.endpoint_url, row.bucket, row.region = provider, endpoint_url, bucket, region
            row.access_key, row.prefix, row.updated_at = access_key, prefix, now
            row.secret_key_encrypted = token or row.secret_key_encrypted
        return self.s3_config()

    def delete_s3_config(self) -> bool:
        """Delete the S3 settings; return whether there were any."""
        with self._transaction() as session:
            row = session.get(S3ConfigRow, 1)
            if row is not None:
                session.delete(row)
            return row is not None

    # ---------------------------------------------------------------- servers

    def servers(self) -> list[ServerEntry]:
        """Return every server, by name."""
        with self._transaction() as session:
            return [_entry(ServerEntry, row) for row in session.scalars(select(ServerRow).order_by(ServerRow.name))]

    def server(self, name: str) -> ServerEntry:
        """Return server `name`; raise NotFound when there is none."""
        with self._transaction() as session:
            return _entry(ServerEntry, self._server_row(session, name))

    @staticmethod
    def _server_row(session: Session, name: str) -> ServerRow:
        row = session.get(ServerRow, name)
        if row is None:
            raise NotFound(f"unknown server {name!r}")
        return row

    def add_server(
        self, name: str, *, host: str, port: int = 22, user: str = "root", ssh_key_path: str | None = None,
        python_interpreter: str = DEFAULT_PYTHON, aws_bin: str = DEFAULT_AWS_BIN, backup_dir: str = DEFAULT_BACKUP_DIR,
    ) -> ServerEntry:
        """Register server `name` (values already validated) and return it; raise BadInput when
        the name is taken."""
        with self._transaction() as session:
            if session.get(ServerRow, name) is not None:
                raise BadInput(f"server {name!r} already exists")
            row = ServerRow(
                name=name, host=host, port=port, user=user, ssh_key_path=ssh_key_path,
                python_interpreter=python_interpreter, aws_bin=aws_bin, backup_dir=backup_dir,
                created_at=datetime.now(UTC),
            )
            session.add(row)
            return _entry(ServerEntry, row)

    def update_server(self, name: str, **changes) -> ServerEntry:
        """Change the given ServerEntry fields of server `name` (any but `name` and `created_at`);
        return it. Raise BadInput when there is no such server."""
        unknown = set(changes) - ({item.name for item in fields(ServerEntry)} - {"name", "created_at"})
        if unknown:
            raise TypeError(f"update_server() got unknown fields: {', '.join(sorted(unknown))}")
        with self._transaction() as session:
            row = self._server_row(session, name)
            for column, value in changes.items():
                setattr(row, column, value)
            return _entry(ServerEntry, row)

    def remove_server(self, name: str) -> None:
        """Forget server `name`; raise BadInput when it is unknown or databases still use it."""
        with self._transaction() as session:
            row = self._server_row(session, name)
            used_by = session.scalars(
                select(DatabaseRow.name).where(DatabaseRow.server_name == name).order_by(DatabaseRow.name)
            ).all()
            if used_by:
                raise BadInput(f"server {name!r} still has databases ({', '.join(used_by)}): remove them first")
            session.delete(row)

    # ---------------------------------------------------------------- databases

    def databases(self) -> list[DatabaseEntry]:
        """Return every database, by name, with passwords decrypted."""
        with self._transaction() as session:
            rows = list(session.scalars(select(DatabaseRow).order_by(DatabaseRow.name)))
            cipher = self._cipher(session) if any(row.password_encrypted for row in rows) else None
            return [self._database_entry(row, cipher) for row in rows]

    def database(self, name: str) -> DatabaseEntry:
        """Return database `name` with its password decrypted; raise NotFound when there is none."""
        with self._transaction() as session:
            row = session.get(DatabaseRow, name)
            if row is None:
                raise NotFound(f"unknown database {name!r}")
            return self._database_entry(row, self._cipher(session) if row.password_encrypted else None)

    @staticmethod
    def _database_entry(row: DatabaseRow, cipher: SecretCipher | None) -> DatabaseEntry:
        """Return `row` as a DatabaseEntry, its password decrypted with `cipher` (None: no password)."""
        return _entry(
            DatabaseEntry, row, server=row.server_name,
            password=cipher.decrypt(row.password_encrypted) if row.password_encrypted else None,
        )

    def add_database(
        self, name: str, *, server: str, engine: str, database: str | None = None, user: str | None = None,
        host: str | None = None, port: int | None = None, container: str | None = None,
        password: str | None = None, restart_command: str | None = None, data_dir: str | None = None,
        local_copy: bool = True, compression: str | None = None,
    ) -> DatabaseEntry:
        """Register database `name` on server `server` (values already validated; a password of
        None or '' means none) and return it. Raise BadInput when the name is taken or the
        server unknown."""
        with self._transaction() as session:
            if session.get(DatabaseRow, name) is not None:
                raise BadInput(f"database {name!r} already exists")
            self._server_row(session, server)
            cipher = self._cipher(session) if password else None
            row = DatabaseRow(
                name=name, server_name=server, engine=engine, database=database, user=user, host=host, port=port,
                container=container, password_encrypted=cipher.encrypt(password) if cipher else None,
                restart_command=restart_command, data_dir=data_dir, local_copy=local_copy, compression=compression,
                created_at=datetime.now(UTC),
            )
            session.add(row)
            return self._database_entry(row, cipher)

    def remove_database(self, name: str) -> None:
        """Forget database `name` (its backups stay where they are); raise NotFound when unknown,
        BadInput when it still has a schedule."""
        with self._transaction() as session:
            row = session.get(DatabaseRow, name)
            if row is None:
                raise NotFound(f"unknown database {name!r}")
            if session.get(ScheduleRow, name) is not None:
                raise BadInput(
                    f"database {name!r} has scheduled backups: run 'infrakt-backup schedule remove {name}' first"
                )
            session.delete(row)

    # ---------------------------------------------------------------- encryption

    def encryption(self) -> EncryptionSettings | None:
        """Return the encryption settings with the identity decrypted, or None when encryption
        was never set up."""
        with self._transaction() as session:
            row = session.get(EncryptionRow, 1)
            if row is None:
                return None
            identity = self._cipher(session).decrypt(row.identity_encrypted) if row.identity_encrypted else None
            return _entry(EncryptionSettings, row, recipients=tuple(row.recipients.split()), identity=identity)

    def save_encryption(self, *, recipients: list[str], enabled: bool, identity=KEEP,
                        identity_recipient: str | None = None) -> EncryptionSettings:
        """Create or replace the encryption settings (values already validated); identity KEEP
        keeps the stored identity and its recipient, else it is the identity (with
        identity_recipient) to store. Return the saved settings."""
        now = datetime.now(UTC)
        with self._transaction() as session:
            token = self._cipher(session).encrypt(identity) if identity not in (KEEP, None) else None
            row = session.get(EncryptionRow, 1)
            if row is None:
                row = EncryptionRow(id=1, created_at=now, identity_encrypted=None, identity_recipient=None)
                session.add(row)
            row.recipients, row.enabled, row.updated_at = "\n".join(recipients), enabled, now
            if identity is not KEEP:
                row.identity_encrypted, row.identity_recipient = token, identity_recipient
        return self.encryption()

    # ---------------------------------------------------------------- schedules

    def schedules(self) -> list[ScheduleEntry]:
        """Return every schedule, by database name, ping URLs decrypted."""
        with self._transaction() as session:
            rows = list(session.scalars(select(ScheduleRow).order_by(ScheduleRow.db_name)))
            cipher = self._cipher(session) if any(row.notify_url_encrypted for row in rows) else None
            return [self._schedule_entry(row, cipher) for row in rows]

    def schedule(self, db_name: str) -> ScheduleEntry | None:
        """Return the schedule of database `db_name`, or None when it has none."""
        with self._transaction() as session:
            row = session.get(ScheduleRow, db_name)
            if row is None:
                return None
            return self._schedule_entry(row, self._cipher(session) if row.notify_url_encrypted else None)

    @staticmethod
    def _schedule_entry(row: ScheduleRow, cipher: SecretCipher | None) -> ScheduleEntry:
        return _entry(
            ScheduleEntry, row,
            notify_url=cipher.decrypt(row.notify_url_encrypted) if row.notify_url_encrypted else None,
        )

    def save_schedule(
        self, db_name: str, *, cron: str, keep_local: int, keep_last: int | None, keep_daily: int | None,
        keep_weekly: int | None, keep_monthly: int | None, notify_url=KEEP, verify_cron: str | None = None,
    ) -> ScheduleEntry:
        """Create or replace the schedule of database `db_name` (values already validated),
        marked not installed until mark_schedule_installed; notify_url KEEP keeps the stored ping
        URL, None removes it; verify_cron None means no scheduled drills. Return it. Raise
        NotFound for an unknown database."""
        now = datetime.now(UTC)
        with self._transaction() as session:
            if session.get(DatabaseRow, db_name) is None:
                raise NotFound(f"unknown database {db_name!r}")
            token = self._cipher(session).encrypt(notify_url) if notify_url not in (KEEP, None) else None
            row = session.get(ScheduleRow, db_name)
            if row is None:
                row = ScheduleRow(db_name=db_name, created_at=now, notify_url_encrypted=None)
                session.add(row)
            row.cron, row.keep_local = cron, keep_local
            row.keep_last, row.keep_daily = keep_last, keep_daily
            row.keep_weekly, row.keep_monthly = keep_weekly, keep_monthly
            row.verify_cron = verify_cron
            if notify_url is not KEEP:
                row.notify_url_encrypted = token
            row.installed, row.updated_at = False, now
        return self.schedule(db_name)

    def mark_schedule_installed(self, db_name: str, installed: bool) -> None:
        """Record whether the server of `db_name` has its schedule installed as stored."""
        with self._transaction() as session:
            row = session.get(ScheduleRow, db_name)
            if row is not None:
                row.installed = installed

    def remove_schedule(self, db_name: str) -> bool:
        """Forget the schedule of `db_name`; return whether there was one."""
        with self._transaction() as session:
            row = session.get(ScheduleRow, db_name)
            if row is not None:
                session.delete(row)
            return row is not None


def _configure_connection(dbapi_connection, _record) -> None:
    """Let SQLAlchemy's "begin" event own transactions, enforce foreign keys, and overwrite
    deleted content (old ciphertexts after a key rotation) instead of leaving it in free pages."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


def _begin_immediate(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
