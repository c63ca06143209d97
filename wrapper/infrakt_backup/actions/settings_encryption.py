"""`infrakt-backup settings encryption init|set|show|disable|export-identity`: client-side
encryption of backups with age. Backups are encrypted on their server, in the stream, to the
stored recipients (public keys); the identity that decrypts them is either made by `init` and
kept in the store (Fernet-encrypted like every secret, covered by `key rotate`), or kept
elsewhere by the user (`set --recipient`; a restore then needs `--identity-file`).

`disable` stops encrypting new backups and keeps a stored identity: the encrypted backups made
so far still restore. Every change reaches the scheduled backups of every server (their configs
carry the recipients)."""

import os
from collections.abc import Callable
from pathlib import Path

from infrakt_backup import age_keys
from infrakt_backup.actions import validated
from infrakt_backup.actions.settings_s3 import reapply_schedules
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.json_ready import entry_dict
from infrakt_backup.store import Store


def show(store: Store) -> dict:
    """Return {"enabled": False, "configured": False} when encryption was never set up, else
    {"configured": True, enabled, recipients, identity_recipient, identity_set (whether an
    identity is stored), created_at, updated_at}."""
    settings = store.encryption()
    if settings is None:
        return {"configured": False, "enabled": False}
    return {"configured": True, **entry_dict(settings), "recipients": list(settings.recipients)}


def backup_recipients(store: Store) -> list[str]:
    """Return the recipients new backups are encrypted to: none when encryption is off."""
    settings = store.encryption()
    return list(settings.recipients) if settings is not None and settings.enabled else []


def init(store: Store, progress: Callable[[str], None] | None = None) -> dict:
    """Turn encryption on with the stored identity, made now (age X25519, age_keys) when none
    is stored yet: new backups are encrypted to its recipient alone. Return show() plus
    "created" (whether a new identity was made) and "schedules" (reapply_schedules())."""
    current = store.encryption()
    if current is not None and current.identity is not None:
        identity = age_keys.parse_identity(current.identity)
        store.save_encryption(recipients=[identity.recipient], enabled=True)
        created = False
    else:
        identity = age_keys.generate_identity()
        store.save_encryption(recipients=[identity.recipient], enabled=True, identity=identity.identity,
                              identity_recipient=identity.recipient)
        created = True
    return {**show(store), "created": created, "schedules": reapply_schedules(store, progress)}


def set_recipients(store: Store, recipients: list[str], progress: Callable[[str], None] | None = None) -> dict:
    """Turn encryption on with recipients (age X25519 public keys, whose identities the user
    keeps): new backups are encrypted to all of them (any one identity decrypts). A stored
    identity stays, for the backups encrypted to it. Return show() plus "schedules". Raise
    BadInput for none or a bad one."""
    if not recipients:
        raise BadInput("give at least one --recipient age1…")
    unique = list(dict.fromkeys(validated(age_keys.validate_recipient, recipient) for recipient in recipients))
    store.save_encryption(recipients=unique, enabled=True)
    return {**show(store), "schedules": reapply_schedules(store, progress)}


def disable(store: Store, progress: Callable[[str], None] | None = None) -> dict:
    """Stop encrypting new backups (a stored identity is kept: encrypted backups still restore).
    Return {"disabled": whether it was on, "identity_kept": whether an identity is stored,
    "schedules"}."""
    current = store.encryption()
    if current is None or not current.enabled:
        return {"disabled": False, "identity_kept": bool(current and current.identity),
                "schedules": {"servers_updated": [], "servers_failed": []}}
    store.save_encryption(recipients=list(current.recipients), enabled=False)
    return {"disabled": True, "identity_kept": current.identity is not None,
            "schedules": reapply_schedules(store, progress)}


def export_identity(store: Store, output: Path) -> dict:
    """Write the stored identity to the new file output (0600, age-keygen's format: the stock
    `age -d -i FILE` reads it); return {"path", "recipient"}. Raise BadInput when no identity is
    stored or output exists (never overwritten), InfraktError when it cannot be written."""
    settings = store.encryption()
    if settings is None or settings.identity is None:
        raise BadInput("no age identity is stored: 'infrakt-backup settings encryption init' makes one")
    identity = age_keys.parse_identity(settings.identity)
    text = age_keys.identity_file_text(identity, settings.created_at)
    try:
        descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise BadInput(f"{output} exists: choose a new file (an identity file is never overwritten)") from None
    except OSError as error:
        raise InfraktError(f"cannot write {output}: {error.strerror}") from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    return {"path": str(output), "recipient": identity.recipient}


def restore_identity(store: Store, identity_file: Path | None) -> str | None:
    """Return the text of the identity file a restore of an encrypted backup sends to the
    server: the stored identity and those of identity_file (a user's age identity file), one
    per line; None when there are none. Raise BadInput when identity_file cannot be read or
    holds no age identity."""
    identities = []
    settings = store.encryption()
    if settings is not None and settings.identity is not None:
        identities.append(settings.identity)
    if identity_file is not None:
        try:
            text = Path(identity_file).read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise BadInput(f"cannot read the identity file {identity_file}: "
                           f"{getattr(error, 'strerror', None) or 'not a text file'}") from None
        identities += [item.identity for item in validated(age_keys.read_identity_file, text, str(identity_file))]
    return "".join(f"{identity}\n" for identity in dict.fromkeys(identities)) or None
