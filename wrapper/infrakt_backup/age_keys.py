"""age X25519 keys on the controller: a new identity (`settings encryption init`), the recipient
of an identity, the checks of recipients and identity files, and the identity file's text in
age-keygen's format (`settings encryption export-identity`).

Made with the `cryptography` package the store already needs (X25519) and bech32, the encoding
age writes keys in (BIP 173, without its 90-character limit): no other dependency, no program
run and no file written, so an identity never passes through a command line, a pipe or a
temporary file on its way into the store. The format is age's own (age-encryption.org/v1):
`age-keygen -y` prints the same recipient for an identity made here, and the stock `age -d -i`
reads the exported file.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from ansible_collections.infrakt.backup.plugins.module_utils import names

RECIPIENT_HRP = "age"
IDENTITY_HRP = "age-secret-key-"  # written upper case: AGE-SECRET-KEY-1…
KEY_SIZE = 32
BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
IDENTITY_LINE = re.compile(r"^AGE-SECRET-KEY-1[02-9ACDEFGHJKLMNPQRSTUVWXYZ]{58}$")


@dataclass(frozen=True)
class Identity:
    """An age X25519 identity (`AGE-SECRET-KEY-1…`, secret) and its recipient (`age1…`, public)."""

    identity: str
    recipient: str

    def __repr__(self) -> str:
        return f"Identity(recipient={self.recipient!r})"


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(BECH32_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(character) >> 5 for character in hrp] + [0] + [ord(character) & 31 for character in hrp]


def _regroup(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Return data's from_bits-bit groups as to_bits-bit groups; raise ValueError for padding
    that is not zero (a string that is no encoding of whole bytes)."""
    accumulator, bits, groups, mask = 0, 0, [], (1 << to_bits) - 1
    for value in data:
        accumulator, bits = (accumulator << from_bits) | value, bits + from_bits
        while bits >= to_bits:
            bits -= to_bits
            groups.append((accumulator >> bits) & mask)
    if pad and bits:
        groups.append((accumulator << (to_bits - bits)) & mask)
    elif not pad and (bits >= from_bits or (accumulator << (to_bits - bits)) & mask):
        raise ValueError("bad padding")
    return groups


def bech32_encode(hrp: str, data: bytes) -> str:
    """Return data (bytes) as bech32 with human-readable part hrp, lower case."""
    groups = _regroup(data, 8, 5, pad=True)
    checksum = _polymod(_hrp_expand(hrp) + groups + [0] * 6) ^ 1
    groups += [(checksum >> 5 * (5 - index)) & 31 for index in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[group] for group in groups)


def bech32_decode(text: str) -> tuple[str, bytes]:
    """Return (human-readable part, data) of the bech32 string text (all lower or all upper
    case); raise ValueError when it is not one or its checksum is wrong."""
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    text = text.lower()
    hrp, separator, rest = text.rpartition("1")
    if not hrp or not separator or len(rest) < 6 or any(character not in BECH32_CHARSET for character in rest):
        raise ValueError("not bech32")
    groups = [BECH32_CHARSET.index(character) for character in rest]
    if _polymod(_hrp_expand(hrp) + groups) != 1:
        raise ValueError("bad checksum")
    return hrp, bytes(_regroup(groups[:-6], 5, 8, pad=False))


def generate_identity() -> Identity:
    """Return a new age X25519 identity (from the operating system's random source)."""
    return _identity_of(X25519PrivateKey.generate())


def _identity_of(private_key: X25519PrivateKey) -> Identity:
    secret = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Identity(bech32_encode(IDENTITY_HRP, secret).upper(), bech32_encode(RECIPIENT_HRP, public))


def parse_identity(line: str) -> Identity:
    """Return the Identity of an `AGE-SECRET-KEY-1…` line; raise ValueError (never showing the
    line) when it is not an age X25519 identity."""
    try:
        hrp, secret = bech32_decode(line) if IDENTITY_LINE.match(line) else ("", b"")
    except ValueError:
        hrp, secret = "", b""
    if hrp != IDENTITY_HRP or len(secret) != KEY_SIZE:
        raise ValueError("not an age X25519 identity (AGE-SECRET-KEY-1…)")
    return _identity_of(X25519PrivateKey.from_private_bytes(secret))


def validate_recipient(recipient: str) -> str:
    """Return recipient if it is an age X25519 recipient (`age1…` with a good checksum); raise
    ValueError with a one-line message otherwise."""
    names.validate_age_recipient(recipient)
    try:
        hrp, public = bech32_decode(recipient)
    except ValueError:
        hrp, public = "", b""
    if hrp != RECIPIENT_HRP or len(public) != KEY_SIZE:
        raise ValueError(f"age recipient {recipient!r} is not valid: its checksum is wrong (a typo?)")
    return recipient


def read_identity_file(text: str, where: str) -> list[Identity]:
    """Return the identities of an age identity file's text (one `AGE-SECRET-KEY-1…` per line,
    `#` comments and blank lines allowed, as age-keygen writes it); raise ValueError naming where
    (the file) and the line, never showing it, for anything else or a file without one."""
    identities = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(parse_identity(line))
        except ValueError as error:
            raise ValueError(f"{where}: line {number} is {error}") from None
    if not identities:
        raise ValueError(f"{where} holds no age identity (AGE-SECRET-KEY-1… lines, as age-keygen writes them)")
    return identities


def identity_file_text(identity: Identity, created: datetime) -> str:
    """Return the identity file of identity in age-keygen's format: `# created:` and `# public
    key:` comments, then the identity line."""
    return (f"# created: {created.strftime('%Y-%m-%dT%H:%M:%SZ')}\n# public key: {identity.recipient}\n"
            f"{identity.identity}\n")
