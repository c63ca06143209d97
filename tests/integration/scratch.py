"""Scratch things on the shared bench that integration tests create and drop: a database per
test (the bench role may create them), so tests never change the bench's own sample data."""

import os
import subprocess
import uuid

from tests.testbed.sample import sample_sql


def unique(prefix):
    """Return prefix followed by a short random suffix (names of scratch things)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"



class Postgres:
    """A scratch database on the bench PostgreSQL, owned by the bench role, with the sample data."""

    def __init__(self, env, name):
        self.env = env
        self.name = name

    def psql(self, sql, database=None):
        """Run sql as the bench role over TCP; return the unaligned output."""
        argv = [os.path.join(self.env["PG_BIN_DIR"], "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                "-h", self.env["PG_HOST"], "-p", self.env["PG_PORT"], "-U", self.env["PG_USER"],
                "-d", database or self.name]
        return subprocess.run(argv, input=sql, capture_output=True, text=True, check=True,
                              env=dict(os.environ, PGPASSWORD=self.env["PG_PASSWORD"])).stdout.strip()

    def create(self):
        self.psql(f'CREATE DATABASE "{self.name}"', database=self.env["PG_DATABASE"])
        self.psql(f"BEGIN;\n{sample_sql('postgres')}COMMIT;\n")

    def drop(self):
        self.psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', database=self.env["PG_DATABASE"])

    def fingerprint(self):
        """Row counts and an md5 of every row of both tables, and the view's row count."""
        return self.psql(
            "SELECT (SELECT count(*) FROM customers),"
            " (SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c),"
            " (SELECT count(*) FROM orders), (SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o),"
            " (SELECT count(*) FROM customer_totals)"
        )

    def damage(self):
        """Change, delete and drop things a restore must bring back."""
        self.psql("DELETE FROM orders WHERE id % 2 = 0; UPDATE customers SET name = 'changed' WHERE id = 1;"
                  " DROP VIEW customer_totals;")

    def variables(self, **extra):
        """The playbook variables for this database (native, over TCP)."""
        variables = dict(
            infrakt_db_name=self.name, infrakt_db_engine="postgres", infrakt_db_host=self.env["PG_HOST"],
            infrakt_db_port=int(self.env["PG_PORT"]), infrakt_db_user=self.env["PG_USER"],
            infrakt_db_password=self.env["PG_PASSWORD"],
        )
        variables.update(extra)
        return variables
