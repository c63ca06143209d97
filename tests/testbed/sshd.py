"""The bench's "remote server": a real sshd on loopback that lets root in with the bench's
client key, plus the known_hosts file and the Ansible inventory that point at it."""

import signal
import socket
from pathlib import Path

import yaml

from tests.testbed.component import Component
from tests.testbed.process import TestbedError, run, wait_until

SSHD = "/usr/sbin/sshd"
INVENTORY_GROUP = "infrakt_servers"
INVENTORY_HOST = "bench"
SSHD_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 50:30:100
MaxSessions 50
LogLevel INFO
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def _banner_ready(port: int) -> bool:
    """True when an SSH server greets on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


class SshServer(Component):
    """sshd with its own host key, config, pid file and authorized_keys under the bench dir."""

    name = "sshd"
    port_key = "SSH_PORT"
    stop_signal = signal.SIGTERM

    @property
    def cmdline_needle(self) -> str:  # sshd rewrites its title but keeps the -f argument
        """Our sshd's config path, which its process title contains."""
        return str(self.dir / "sshd_config")

    @property
    def host_key(self) -> Path:
        """The server's ed25519 host key."""
        return self.dir / "ssh_host_ed25519_key"

    @property
    def client_key(self) -> Path:
        """The client private key Ansible and ssh use to log in as root."""
        return self.dir / "client_ed25519"

    def start(self) -> None:
        """Start sshd (see serve), then record it in the env and write the inventory."""
        self.serve()
        inventory = self.bench_dir / "inventory.yml"
        self.env.update(
            SSH_HOST="127.0.0.1", SSH_USER="root", SSH_KEY=str(self.client_key),
            SSH_KNOWN_HOSTS=str(self.known_hosts), INVENTORY=str(inventory),
        )
        inventory.write_text(yaml.safe_dump(self.inventory(), sort_keys=False))

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file that pins this server's host key."""
        return self.dir / "known_hosts"

    def serve(self) -> None:
        """Make missing keys, write the config and known_hosts, start sshd and wait for its banner."""
        for key, comment in ((self.host_key, "infrakt-bench-host"), (self.client_key, "infrakt-bench-client")):
            if not (key.exists() and key.with_suffix(".pub").exists()):
                key.unlink(missing_ok=True)
                key.with_suffix(".pub").unlink(missing_ok=True)
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
                    what="sshd: ssh-keygen", log_file=self.log_file)
        authorized_keys = self.dir / "authorized_keys"
        authorized_keys.write_text(self.client_key.with_suffix(".pub").read_text())
        config = self.dir / "sshd_config"
        config.write_text(SSHD_CONFIG.format(
            port=self.port, host_key=self.host_key, pid_file=self.pid_file, authorized_keys=authorized_keys,
        ))
        key_type, key_data = self.host_key.with_suffix(".pub").read_text().split()[:2]
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {key_type} {key_data}\n")
        # sshd's privilege separation directory; /run is empty on a container start.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        run([SSHD, "-t", "-f", str(config)], what="sshd: config check", log_file=self.log_file)
        run([SSHD, "-f", str(config), "-E", str(self.log_file)], what="sshd: start", log_file=self.log_file)
        wait_until(lambda: _banner_ready(self.port), what="sshd", log_file=self.log_file)
        if self.pid() is None:
            raise TestbedError(f"sshd: no live process in {self.pid_file}; see {self.log_file}")

    def inventory(self) -> dict:
        """Return the Ansible inventory (group infrakt_servers, host bench) for this sshd."""
        host = {
            "ansible_host": "127.0.0.1",
            "ansible_port": self.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.client_key),
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes"
            ),
        }
        return {INVENTORY_GROUP: {"hosts": {INVENTORY_HOST: host}}}


class ExtraSshServer(SshServer):
    """One more "remote server" for runs across many hosts (bench row P5): an sshd of its own
    (own port, host key and client key) under <bench>/sshd-<label>, kept out of the env file
    and the inventory. Testbed.extra_ssh_servers starts and stops them."""

    def __init__(self, bench_dir: Path, label: str, port: int = 0):
        self.name = f"sshd-{label}"
        super().__init__(bench_dir, {self.port_key: str(port)})

    def start(self) -> None:
        """Start sshd only: the bench's env and inventory stay the main sshd's."""
        self.serve()
