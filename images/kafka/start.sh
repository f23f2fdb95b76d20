#!/bin/sh
# Entry point of localhost/reclab-kafka: renders server.properties from the environment, formats
# the KRaft storage when it is empty, then replaces itself with the broker (exec: the JVM is PID 1
# and gets the container's SIGTERM directly, so `stop()` shuts Kafka down cleanly).
#
# Environment (all optional):
#   KAFKA_ADVERTISED_HOST  host clients dial for the EXTERNAL listener (default localhost)
#   KAFKA_ADVERTISED_PORT  host port published for container port 9092 (default 9092)
#   KAFKA_INTERNAL_HOST    address advertised for the INTERNAL listener, 9094 (default 127.0.0.1)
#   KAFKA_CLUSTER_ID       22-character base64 cluster id used when formatting (default fixed)
#   KAFKA_HEAP_OPTS        JVM heap flags (default -Xms256m -Xmx512m)
#   KAFKA_JVM_OPTS         extra JVM flags appended after the defaults
#   KAFKA_CFG_<NAME>       extra broker property: KAFKA_CFG_LOG_RETENTION_MS=1000 -> log.retention.ms=1000
#
# Build time only: `KAFKA_ROOT_PREFIX=<rootfs> start.sh --format-only` formats the storage inside a
# rootfs from the host (scripts/setup/31-image-kafka.sh), so containers start pre-formatted.
set -eu

ROOT=${KAFKA_ROOT_PREFIX:-}
KAFKA_HOME=$ROOT/opt/kafka
DATA_DIR=$ROOT/var/lib/kafka/data
CONF=$ROOT/var/lib/kafka/server.properties
JAVA=$ROOT/opt/java/bin/java
CP="$KAFKA_HOME/libs/*"
DEFAULT_CLUSTER_ID=cmVjbGFiLWthZmthLTAwMQ

: "${KAFKA_ADVERTISED_HOST:=localhost}"
: "${KAFKA_ADVERTISED_PORT:=9092}"
: "${KAFKA_INTERNAL_HOST:=127.0.0.1}"
: "${KAFKA_CLUSTER_ID:=$DEFAULT_CLUSTER_ID}"
: "${KAFKA_HEAP_OPTS:=-Xms256m -Xmx512m}"
: "${KAFKA_JVM_OPTS:=}"

sed -e "s|@ADVERTISED_HOST@|$KAFKA_ADVERTISED_HOST|g" \
    -e "s|@ADVERTISED_PORT@|$KAFKA_ADVERTISED_PORT|g" \
    -e "s|@INTERNAL_HOST@|$KAFKA_INTERNAL_HOST|g" \
    "$KAFKA_HOME/config/server.properties.template" > "$CONF"

# KAFKA_CFG_FOO_BAR=x -> foo.bar=x, appended so it overrides the template's value.
env | grep '^KAFKA_CFG_' | while IFS='=' read -r name value; do
  key=$(echo "${name#KAFKA_CFG_}" | tr 'A-Z_' 'a-z.')
  echo "$key=$value" >> "$CONF"
done || true
# The template's data directory is the container's; at build time it lives inside the rootfs.
[ -n "$ROOT" ] && echo "log.dirs=$DATA_DIR" >> "$CONF"

# G1 with short pauses: the lab measures tail latency, and the broker's own pauses add to it.
# ExitOnOutOfMemoryError: a dead container is a clear failure; a thrashing JVM is not.
JVM_FLAGS="$KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
 -Djava.awt.headless=true -Dlog4j2.configurationFile=$KAFKA_HOME/config/log4j2.properties $KAFKA_JVM_OPTS"

# The image ships storage already formatted with the default cluster id (done at build time, saving
# a JVM start per container). Format here when the storage is empty (a fresh volume) or still holds
# that build-time format while another cluster id is asked for. Storage of another cluster (a reused
# volume) is never wiped: the broker starts with the id it finds.
formatted_id=$(sed -n 's/^cluster.id=//p' "$DATA_DIR/meta.properties" 2>/dev/null || true)
if [ -z "$formatted_id" ] || { [ "$formatted_id" = "$DEFAULT_CLUSTER_ID" ] && [ "$KAFKA_CLUSTER_ID" != "$formatted_id" ]; }; then
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$KAFKA_HOME/config/log4j2.properties" \
    -cp "$CP" kafka.tools.StorageTool format -t "$KAFKA_CLUSTER_ID" -c "$CONF"
elif [ "$formatted_id" != "$KAFKA_CLUSTER_ID" ]; then
  echo "reclab-kafka: storage belongs to cluster $formatted_id, not $KAFKA_CLUSTER_ID: keeping it" >&2
fi
[ "${1:-}" = "--format-only" ] && exit 0

echo "reclab-kafka: advertising EXTERNAL://$KAFKA_ADVERTISED_HOST:$KAFKA_ADVERTISED_PORT"
# shellcheck disable=SC2086
exec "$JAVA" $JVM_FLAGS -cp "$CP" kafka.Kafka "$CONF"
