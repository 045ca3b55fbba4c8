#!/bin/sh
# Make this machine a streaming replica of the primary (run as postgres on the replica, cluster stopped):
# a copy of the whole cluster with the standby settings written by -R (standby.signal, primary_conninfo).
# deploy/local_topology.py does the same on one machine.
set -eu
PRIMARY=${PRIMARY:-10.0.1.10}
DATA=${DATA:-/var/lib/postgresql/15/main}
rm -rf "$DATA"
pg_basebackup -h "$PRIMARY" -U replicator -D "$DATA" -R -X stream -c fast -P
# Then start it (systemctl start postgresql@15-main) and check on the primary:
#   SELECT client_addr, state, replay_lag FROM pg_stat_replication;
