#!/bin/sh
# A workload for `witness sidecar ... -- writer.sh CONNINFO [OUTCOMES]`: writes a row through
# fenced_write (fencing.sql) again and again with the epoch the sidecar started it with, and appends
# each attempt's outcome to OUTCOMES (default: stdout) as one line:
#
#   NODE EPOCH SEQUENCE ok ATTEMPT     stored; ATTEMPT is its place in the database's order
#   NODE EPOCH SEQUENCE refused        the database has seen a higher epoch: this copy is stale
#   NODE EPOCH SEQUENCE failed         anything else (connection lost...); the row may or may not be stored
#
# CONNINFO is a libpq connection string ("host=127.0.0.1 port=5432 dbname=app"). PSQL names the
# client (default psql); WRITE_INTERVAL the pause between writes in seconds (default 0.05).
set -eu

conninfo=${1:?usage: writer.sh CONNINFO [OUTCOMES]}
outcomes=${2:-/dev/stdout}
psql=${PSQL:-psql}
interval=${WRITE_INTERVAL:-0.05}
node=${WITNESS_NODE:?WITNESS_NODE is set by the sidecar}
epoch=${WITNESS_EPOCH:?WITNESS_EPOCH is set by the sidecar}

# The epoch and the node go into SQL: only what they can be is let through.
case $epoch in '' | *[!0-9]*)
  echo "writer.sh: WITNESS_EPOCH is not a decimal number: $epoch" >&2
  exit 2
  ;;
esac
case $node in '' | *[!A-Za-z0-9_.-]*)
  echo "writer.sh: WITNESS_NODE has characters a node name cannot have: $node" >&2
  exit 2
  ;;
esac

sequence=0
while :; do
  sequence=$((sequence + 1))
  # psql substitutes :'name' as a quoted literal; -c would not substitute at all, hence stdin.
  if result=$(
    "$psql" -X -A -t -q -v ON_ERROR_STOP=1 -v epoch="$epoch" -v node="$node" -v sequence="$sequence" \
      "$conninfo" 2>&1 <<'SQL'
SELECT fenced_write(:'epoch', :'node', :'sequence');
SQL
  ); then
    outcome="ok $(printf '%s\n' "$result" | tail -n 1)"
  else
    case $result in
    *'fenced_write refused'*) outcome=refused ;;
    *)
      outcome=failed
      printf '%s\n' "$result" | sed 's/^/writer.sh: /' >&2
      ;;
    esac
  fi
  printf '%s %s %s %s\n' "$node" "$epoch" "$sequence" "$outcome" >>"$outcomes"
  sleep "$interval"
done
