#!/usr/bin/env bash
# Builds the local Apache Kafka image (single-node KRaft broker) that loadtest/infra/kafka.ts starts
# through Testcontainers. No registry serves images here and no Kafka tarball can be downloaded
# (SETUP-NOTES), so the image is assembled from parts this machine has or can fetch from registries:
#   - the broker's runtime classpath from Maven Central (images/kafka/pom.xml, via mvn);
#   - the host's Java 17 runtime (openjdk-17-jre-headless) and the shared libraries ldd reports for it;
#   - busybox (Debian busybox-static) as the shell and tools start.sh needs;
#   - images/kafka/start.sh, server.properties.template, log4j2.properties;
# put into an empty rootfs and turned into an image with `tar | <engine> import`. The KRaft storage
# is formatted at build time so a container start costs one JVM launch, not two.
#
# Image: $RECLAB_KAFKA_IMAGE, default localhost/reclab-kafka:4.
# Cached: skipped when the image exists with label reclab.kafka.hash equal to the hash of
# images/kafka/*, this script and the host's Java build. Set RECLAB_KAFKA_REBUILD=1 to force.
# With a real Docker engine (users' CI) and a public image name, nothing is built: the engine pulls.
set -euo pipefail
self=$(readlink -f "$0")
cd "${RECLAB_ROOT:-$(dirname "$self")/../..}"

image=${RECLAB_KAFKA_IMAGE:-localhost/reclab-kafka:4}
src=images/kafka
label=reclab.kafka.hash

# Engine: a Docker engine that is not podman wins (same rule as 20-podman.sh); podman otherwise.
engine=podman
if [ -z "${RECLAB_FORCE_PODMAN:-}" ] && docker info >/dev/null 2>&1 \
  && ! docker version 2>/dev/null | grep -qi podman; then
  engine=docker
fi
if [ "$engine" = docker ] && [[ "$image" != localhost/* ]]; then
  echo "  Docker engine in use and $image is a public name: the engine pulls it, nothing to build"
  exit 0
fi
command -v "$engine" >/dev/null || { echo "  $engine is not installed: run scripts/setup/20-podman.sh" >&2; exit 1; }

command -v java >/dev/null || { echo "  java missing: run scripts/setup/10-system-packages.sh" >&2; exit 1; }
java_bin=$(readlink -f "$(command -v java)")
java_home=${java_bin%/bin/java}
# The hash covers every input whose change must produce a new image: the recipe files, this
# script, and the exact Java build copied in (a JRE security update changes the rootfs).
hash=$( (find "$src" -maxdepth 1 -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum "$self" | cut -d' ' -f1
  "$java_bin" -version 2>&1; echo "$java_home") | sha256sum | cut -d' ' -f1)

have=$("$engine" image inspect --format "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)
if [ -z "${RECLAB_KAFKA_REBUILD:-}" ] && [ "$have" = "$hash" ]; then
  echo "  $image is up to date (cached)"
  exit 0
fi

t0=$EPOCHREALTIME
command -v busybox >/dev/null || { echo "  busybox missing: run scripts/setup/10-system-packages.sh" >&2; exit 1; }
command -v mvn >/dev/null || { echo "  mvn missing: run scripts/setup/10-system-packages.sh" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/reclab-kafka-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,etc,tmp,opt/kafka/bin,opt/kafka/config,opt/java,var/lib/kafka/data}
chmod 1777 "$root/tmp"

# 1. Kafka's jars. ~/.m2 caches them, so only a cold machine downloads (~45 MB).
mvn -q -B -f "$src/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$root/opt/kafka/libs" >"$work/mvn.log" 2>&1 \
  || { cat "$work/mvn.log" >&2; echo "  mvn could not resolve Kafka from Maven Central" >&2; exit 1; }

# 2. The Java runtime: launcher, lib/ and conf/ only (no JDK tools, sources, man pages).
# Debian's JRE links conf files into /etc/java-17-openjdk: -L copies what they point at.
mkdir -p "$root/opt/java/bin"
cp "$java_home/bin/java" "$root/opt/java/bin/"
[ -x "$java_home/bin/jcmd" ] && cp "$java_home/bin/jcmd" "$root/opt/java/bin/" # thread dumps when debugging
cp "$java_home/release" "$root/opt/java/" 2>/dev/null || true
for d in lib conf; do
  (cd "$java_home" && find "$d" \( -type f -o -type l \) ! -name src.zip ! -name ct.sym \
    ! -name classes_nocoops.jsa -print) | while read -r f; do
    [ -e "$java_home/$f" ] || continue # dangling link (e.g. to an absent GUI library)
    mkdir -p "$root/opt/java/$(dirname "$f")"
    cp -L "$java_home/$f" "$root/opt/java/$f"
  done
done

# 3. Shared libraries: whatever ldd resolves for the launcher, libjvm and the JRE's own .so files.
# A JRE library with an unresolved dependency (AWT/X11 on a headless host) is dropped: the broker
# never loads it, and copying it would only carry a broken link.
copy_lib() { # copies one library to the same path in the rootfs, following links
  [ -e "$root$1" ] && return 0
  mkdir -p "$root$(dirname "$1")"
  cp -L "$1" "$root$1"
}
for so in "$root/opt/java/bin/java" "$root/opt/java/bin/jcmd" $(find "$root/opt/java/lib" -name '*.so'); do
  [ -e "$so" ] || continue
  # libjvm.so and the JRE's libraries are found by the launcher, not the loader: tell ldd where.
  deps=$(LD_LIBRARY_PATH="$root/opt/java/lib:$root/opt/java/lib/server" ldd "$so" 2>/dev/null || true)
  if grep -q 'not found' <<<"$deps"; then
    rm -f "$so"
    continue
  fi
  # shellcheck disable=SC2013 # library paths never contain spaces
  for lib in $(awk '/=> \// {print $3} /^[ \t]*\/[^ ]*ld-linux/ {print $1}' <<<"$deps"); do
    case "$lib" in "$root"/*) continue ;; esac # the JRE's own libraries are already there
    copy_lib "$lib"
  done
done
# Compression codecs (snappy, zstd) unpack JNI libraries into /tmp at run time and need the C++
# runtime; libjvm already pulled libstdc++/libgcc_s in, so nothing more is needed here.

# 4. A shell and the tools start.sh uses.
busybox_bin=$(command -v busybox)
cp "$busybox_bin" "$root/bin/busybox"
if ldd "$busybox_bin" >/dev/null 2>&1; then # a dynamic busybox needs its libraries too
  for lib in $(ldd "$busybox_bin" | awk '/=> \// {print $3} /^[ \t]*\/[^ ]*ld-linux/ {print $1}'); do copy_lib "$lib"; done
fi
for applet in $("$busybox_bin" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# 5. The minimum /etc a JVM expects: a user for user.home, and host lookups through files first
# (podman writes /etc/hosts; without nsswitch.conf glibc would ask DNS before it).
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
mkdir -p "$root/root"

# 6. Kafka's start script and configuration.
install -m 0755 "$src/start.sh" "$root/opt/kafka/bin/start.sh"
cp "$src/server.properties.template" "$src/log4j2.properties" "$root/opt/kafka/config/"

# 7. Format the KRaft storage now, with the image's own java and jars run from the rootfs, so each
# container skips the ~1.5 s StorageTool JVM. start.sh reformats if the cluster id differs.
KAFKA_ROOT_PREFIX=$root "$root/bin/busybox" sh "$root/opt/kafka/bin/start.sh" --format-only >"$work/format.log" 2>&1 \
  || { cat "$work/format.log" >&2; echo "  formatting KRaft storage failed" >&2; exit 1; }

# 8. Import. The previous image of the same name is removed afterwards so rebuilds do not pile up
# ~250 MB dangling images (ignored if a running container still uses it).
old_id=$("$engine" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
tar -C "$root" -c . | "$engine" import \
  --change 'ENTRYPOINT ["/opt/kafka/bin/start.sh"]' \
  --change 'ENV PATH=/bin:/opt/java/bin JAVA_HOME=/opt/java' \
  --change 'EXPOSE 9092' \
  --change "LABEL $label=$hash" \
  - "$image" >"$work/import.log" 2>&1 \
  || { cat "$work/import.log" >&2; echo "  $engine import failed" >&2; exit 1; }

new_id=$("$engine" image inspect --format '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  "$engine" rmi "$old_id" >/dev/null 2>&1 || true
fi
size=$(du -sh "$root" | cut -f1)
echo "  built $image ($size rootfs) in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
