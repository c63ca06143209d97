"""The master key file and the Fernet encryption of the secrets kept in infrakt.db.

The key file holds one Fernet key per line. The first line encrypts; every line decrypts
(MultiFernet), so that a key rotation cut short leaves every secret readable: the new key is
added in front of the old ones before anything is re-encrypted, and the old ones are dropped
only once no secret needs them any more.
"""

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from infrakt_backup.errors import InfraktError


def new_key() -> bytes:
    """Return a fresh Fernet key (url-safe base64, 44 bytes)."""
    return Fernet.generate_key()


class KeyFile:
    """The master key file at `path`: one Fernet key per line, the first one encrypts."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> list[bytes] | None:
        """Return the keys in the file, first (encrypting) key first, or None when there is no
        file; raise InfraktError naming the file when it cannot be read or holds no valid keys."""
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise InfraktError(f"cannot read the master key file {self.path}: {error.strerror}") from None
        keys = [line.strip() for line in content.splitlines() if line.strip()]
        if not keys:
            raise InfraktError(f"the master key file {self.path} is empty")
        for number, key in enumerate(keys, start=1):
            try:
                Fernet(key)
            except ValueError:
                raise InfraktError(
                    f"the master key file {self.path} is corrupt: line {number} is not a Fernet key"
                ) from None
        return keys

    def write(self, keys: list[bytes]) -> None:
        """Replace the file with `keys` (the first one encrypts), mode 0600, atomically: a
        crash leaves either the old file or the new one, never a mix."""
        # mkstemp creates the file 0600 in the same directory, so os.replace is a rename.
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(b"".join(key + b"\n" for key in keys))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class SecretCipher:
    """Encrypts with the first of `keys`, decrypts with any of them; errors name the key file."""

    def __init__(self, keys: list[bytes], key_path: Path):
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.key_path = key_path

    def _wrong_key(self) -> InfraktError:
        return InfraktError(
            f"the master key file {self.key_path} cannot decrypt the stored secrets (wrong or replaced key file?)"
        )

    def encrypt(self, secret: str) -> str:
        """Return the Fernet token (ASCII text) of `secret`."""
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Return the secret in `token`; raise InfraktError when no key in the file opens it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise self._wrong_key() from None

    def rotate(self, token: str) -> str:
        """Return `token` re-encrypted under the first key (decrypted with any key)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise self._wrong_key() from None
