#!/usr/bin/env bash
# The main job on the self-contained local default: the test bench plays the S3 storage
# (moto), the remote server (sshd on 127.0.0.1) and the sample PostgreSQL database.
# Create a backup (uploaded from the server), list it, delete the server's copy, list again
# (S3 only), restore from S3, and show the sample data back.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export PATH="$top/.venv/bin:$PATH"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Start the local test bench (S3 server, sshd 'remote server', databases)"
.venv/bin/python -m tests.testbed up >/dev/null
set -a
# shellcheck disable=SC1091
. "${TESTBED_DIR:-/tmp/infrakt-testbed}/env"
set +a

# A fresh wrapper config for the demo, so it never touches a real ~/.infrakt.
export INFRAKT_HOME=${INFRAKT_DEMO_HOME:-/tmp/infrakt-demo-home}
rm -rf "$INFRAKT_HOME"
psql_sample() { PGPASSWORD=$PG_PASSWORD psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" "$@"; }
on_server() { ssh -q -i "$SSH_KEY" -p "$SSH_PORT" -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" "$SSH_USER@$SSH_HOST" "$@"; }

# The "remote server" is this machine: keep the demo's backups in the bench's own directory.
backups="$TESTBED_DIR/server-backups"
rm -rf "$backups"

step "Register the server and install the AWS CLI on it"
show infrakt-backup server add bench --host "$SSH_HOST" --port "$SSH_PORT" --user "$SSH_USER" --ssh-key "$SSH_KEY" \
    --backup-dir "$backups"
show infrakt-backup server provision bench

step "Save the S3 settings (the secret comes from INFRAKT_S3_SECRET_KEY, never a flag) and test them"
INFRAKT_S3_SECRET_KEY=$S3_SECRET_KEY show infrakt-backup settings s3 set --provider custom \
    --endpoint-url "$S3_ENDPOINT_URL" --bucket "$S3_BUCKET" --region "$S3_REGION" \
    --access-key "$S3_ACCESS_KEY" --prefix demo
show infrakt-backup settings s3 show
show infrakt-backup settings s3 test

step "Register the sample PostgreSQL database (password from INFRAKT_DB_PASSWORD)"
INFRAKT_DB_PASSWORD=$PG_PASSWORD show infrakt-backup db add sample --server bench --engine postgres \
    --database "$PG_DATABASE" --host "$PG_HOST" --port "$PG_PORT" --user "$PG_USER"
before=$(psql_sample -At -c "SELECT count(*) || ' orders, checksum ' || md5(string_agg(o::text, ',' ORDER BY o.id)) FROM orders o")
echo "sample data now: $before"

step "Create a backup: dumped on the server, uploaded from the server"
show infrakt-backup backup create sample
filename=$(infrakt-backup backup list sample --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["filename"])')
show infrakt-backup backup list sample

step "Delete the server's local copy: the backup is now in S3 only"
show on_server rm -f "$backups/sample/$filename" "$backups/sample/$filename.sha256"
show infrakt-backup backup list sample

step "Lose data, then restore from S3 (downloaded, sha256 verified, restored)"
show psql_sample -c "DELETE FROM orders WHERE id % 2 = 0"
psql_sample -At -c "SELECT count(*) || ' orders left' FROM orders"
show infrakt-backup backup restore sample "$filename" --yes

step "The sample data is back"
after=$(psql_sample -At -c "SELECT count(*) || ' orders, checksum ' || md5(string_agg(o::text, ',' ORDER BY o.id)) FROM orders o")
echo "before the backup: $before"
echo "after the restore: $after"
[ "$before" = "$after" ] || { echo "demo: the restored data differs" >&2; exit 1; }
echo "Demo finished: create -> upload -> list -> restore from S3 all went through the real bench."
