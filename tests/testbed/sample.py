"""The deterministic sample data the bench loads into PostgreSQL, MariaDB and Redis, as SQL
and Redis commands, plus the values tests compare a restored database against."""

from datetime import datetime, timedelta

CUSTOMER_COUNT = 1000
ORDER_COUNT = 5000
_CUSTOMERS_START = datetime(2024, 1, 1)
_ORDERS_START = datetime(2024, 2, 1)


def customers() -> list[tuple[int, str, str, str]]:
    """Return the customers rows: (id, name, email, created_at as 'YYYY-MM-DD HH:MM:SS')."""
    return [
        (i, f"Customer {i:04d}", f"customer{i}@example.com", str(_CUSTOMERS_START + timedelta(hours=i)))
        for i in range(1, CUSTOMER_COUNT + 1)
    ]


def orders() -> list[tuple[int, int, int, str]]:
    """Return the orders rows: (id, customer_id, amount_cents, placed_at)."""
    return [
        (i, (i * 7) % CUSTOMER_COUNT + 1, (i * 37) % 10000 + 100, str(_ORDERS_START + timedelta(minutes=10 * i)))
        for i in range(1, ORDER_COUNT + 1)
    ]


ORDERS_AMOUNT_SUM = sum(row[2] for row in orders())

# engine -> DDL; the tables hold the same rows in both engines.
_DDL = {
    "postgres": """
SET client_min_messages = warning;
DROP VIEW IF EXISTS customer_totals;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS customers;
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE,
                        created_at timestamp NOT NULL);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (id),
                     amount_cents integer NOT NULL, placed_at timestamp NOT NULL);
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE VIEW customer_totals AS
    SELECT customer_id, count(*) AS orders, sum(amount_cents) AS amount_cents FROM orders GROUP BY customer_id;
""",
    "mariadb": """
DROP VIEW IF EXISTS customer_totals;
DROP PROCEDURE IF EXISTS orders_amount_sum;
DROP TABLE IF EXISTS order_audit;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS customers;
CREATE TABLE customers (id int PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) NOT NULL UNIQUE,
                        created_at datetime NOT NULL) ENGINE=InnoDB;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, amount_cents int NOT NULL,
                     placed_at datetime NOT NULL, KEY orders_customer_id (customer_id),
                     CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)) ENGINE=InnoDB;
CREATE TABLE order_audit (id int AUTO_INCREMENT PRIMARY KEY, order_id int NOT NULL) ENGINE=InnoDB;
CREATE VIEW customer_totals AS
    SELECT customer_id, count(*) AS orders, sum(amount_cents) AS amount_cents FROM orders GROUP BY customer_id;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO order_audit (order_id) VALUES (NEW.id);
CREATE PROCEDURE orders_amount_sum() SELECT sum(amount_cents) FROM orders;
""",
}


def _values(rows: list[tuple]) -> str:
    """Render rows as a SQL VALUES list (ints bare, text single-quoted; the data has no quotes)."""
    return ",\n".join(
        "(" + ", ".join(str(v) if isinstance(v, int) else f"'{v}'" for v in row) + ")" for row in rows
    )


def sample_sql(engine: str) -> str:
    """Return the SQL script that (re)creates the sample tables of engine ('postgres' or
    'mariadb') in the current database with their deterministic rows. The MariaDB schema also
    has a trigger (filling order_audit) and a procedure, so dumps need --routines --triggers."""
    return (
        _DDL[engine]
        + f"INSERT INTO customers (id, name, email, created_at) VALUES\n{_values(customers())};\n"
        + f"INSERT INTO orders (id, customer_id, amount_cents, placed_at) VALUES\n{_values(orders())};\n"
    )


# Redis sample: key -> value; the value's Python type says which Redis type the key has.
REDIS_SAMPLE: dict[str, str | dict[str, str] | list[str] | set[str]] = {
    "sample:greeting": "hello from the bench",
    "sample:counter": "42",
    "sample:user:1": {"name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro"},
    "sample:queue": ["job-1", "job-2", "job-3", "job-4"],
    "sample:tags": {"backup", "s3", "redis"},
}


def redis_commands() -> list[list[str]]:
    """Return the Redis commands (argument lists) that replace all data with REDIS_SAMPLE."""
    commands = [["FLUSHALL"]]
    for key, value in REDIS_SAMPLE.items():
        if isinstance(value, str):
            commands.append(["SET", key, value])
        elif isinstance(value, dict):
            commands.append(["HSET", key, *[part for item in sorted(value.items()) for part in item]])
        elif isinstance(value, list):
            commands.append(["RPUSH", key, *value])
        else:
            commands.append(["SADD", key, *sorted(value)])
    return commands


def resp(commands: list[list[str]]) -> bytes:
    """Encode commands in the Redis protocol, for `redis-cli --pipe`."""
    out = bytearray()
    for command in commands:
        out += f"*{len(command)}\r\n".encode()
        for arg in command:
            data = arg.encode()
            out += f"${len(data)}\r\n".encode() + data + b"\r\n"
    return bytes(out)
