"""The real-component test bench: moto S3 server (IAM auth on), sshd as the "remote server",
PostgreSQL 15, MariaDB and Redis, all as processes on 127.0.0.1 with state under TESTBED_DIR
(default /tmp/infrakt-testbed; benches in different dirs run side by side, ports are free ones).

    from tests.testbed import Testbed
    bed = Testbed.up()            # idempotent: starts only what is not running (bed.started)
    bed.env["S3_ENDPOINT_URL"]    # every setting, all str (the same as $TESTBED_DIR/env)
    bed.inventory_path            # Ansible inventory: group infrakt_servers, host bench
    bed.stop_s3(); bed.start_s3() # an S3 outage; the keys stay the same, objects are lost
    bed.reset_sample_data()       # sample rows/keys back in PostgreSQL, MariaDB, Redis
    with bed.extra_ssh_servers(3) as servers: ...  # 3 more sshd "remote servers", stopped after
                                  # (each .port, .client_key, .known_hosts of its own)
    bed.down()                    # down(only_if_unused=True): not while another session uses it

By hand: python -m tests.testbed up|down|env. Besides the documented keys, env has S3_PORT
and TESTBED_S3_SEED (moto's random seed that reproduces the S3 keys). The sample data and
the values to check it against are in tests.testbed.sample.
"""

from tests.testbed.bench import Testbed, read_env_file
from tests.testbed.process import TestbedError

__all__ = ["Testbed", "TestbedError", "read_env_file"]
