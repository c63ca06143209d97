"""`infrakt-backup key rotate`: re-encrypt every stored secret under a new master key."""

from infrakt_backup.store import Store


def rotate(store: Store) -> dict:
    """Rotate the master key (Store.rotate_key); return {"secrets": how many were re-encrypted,
    "key_file": the key file's path}."""
    return {"secrets": store.rotate_key(), "key_file": str(store.key_file.path)}
