#!/usr/bin/env bash
# The Dockerfile's image, built and run with podman from Debian's packages, as root, on a machine
# with no Docker daemon and no container registry:
#
#   bash test/install/image.sh build        # prints the image name; seconds when nothing changed
#   bash test/install/image.sh run ARGS...  # podman run with the flags this machine needs
#
# The Dockerfile's base (upstream node:20-slim) cannot be pulled, so one is made here: a minimal
# debootstrap Debian 12 root filesystem (cached in $TSPLAY_CACHE/container, a few minutes once),
# with a `node` user (uid 1000, as in node:20-slim), plus this machine's own node and npm
# (Debian 12's nodejs is older than package.json's engines), imported with `podman import`.
# node needs only glibc and libstdc++ from the system, which that Debian 12 root filesystem has.
# The CA bundle this machine's npm trusts (`npm config get cafile`) goes in too, as
# NODE_EXTRA_CA_CERTS: the build's `npm ci` reaches the registry through the same network as the
# machine, whose certificate chain node's built-in CAs reject (SELF_SIGNED_CERT_IN_CHAIN).
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${TSPLAY_CACHE:-/var/cache/tsplay}/container
ROOTFS=$CACHE/debian12-v1
SUITE=bookworm
VERSION=$(node -p 'require("./package.json").version')
NODE=$(readlink -f "$(command -v node)")
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")   # .../node_modules/npm
NODE_VERSION=$("$NODE" --version)
CAFILE=$(npm config get cafile)
if [ ! -f "$CAFILE" ]; then CAFILE=${NODE_EXTRA_CA_CERTS:-}; fi
CA_TAG=none
if [ -n "$CAFILE" ] && [ -f "$CAFILE" ]; then CA_TAG=$(sha256sum "$CAFILE" | cut -c1-12); fi
BASE=localhost/tsplay-node:${NODE_VERSION#v}-debian12-v1-ca-$CA_TAG
IMAGE=localhost/tsplay:$VERSION

# This machine's podman needs two things said on every container it starts (build steps too):
# - runc, not crun: the cgroups here are hybrid (v1, plus a v2 hierarchy holding a controller),
#   which crun refuses ("cgroups in hybrid mode not supported").
# - rlimits no higher than this process has: podman asks for nofile/nproc above the hard limits,
#   and root here may not raise them (no CAP_SYS_RESOURCE): "setrlimit RLIMIT_NOFILE: Operation
#   not permitted". nproc above the kernel's pid_max is refused too.
hard_nproc=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
if [ "$hard_nproc" = unlimited ] || [ "$hard_nproc" -gt "$pid_max" ]; then hard_nproc=$pid_max; fi
hard_nofile=$(ulimit -Hn)
if [ "$hard_nofile" = unlimited ]; then hard_nofile=1048576; fi
CONTAINER_FLAGS=(--runtime runc --ulimit "nofile=$hard_nofile:$hard_nofile" --ulimit "nproc=$hard_nproc:$hard_nproc")

log() { echo "[tsplay image] $*" >&2; }

debian_mirror() {
  node --import tsx -e "import('./test/hosts/harness.ts').then((h) => console.log(h.debianMirror()))"
}

# The Debian root filesystem, once: built beside its final name, renamed when complete.
ensure_rootfs() {
  [ -f "$ROOTFS/etc/tsplay-rootfs" ] && return
  mkdir -p "$CACHE"
  exec 9>"$CACHE/debian12-v1.lock"
  flock 9
  [ -f "$ROOTFS/etc/tsplay-rootfs" ] && return
  local tmp=$ROOTFS.tmp-$$ mirror
  rm -rf "$ROOTFS".tmp-*
  mirror=$(debian_mirror)
  log "debootstrap $SUITE from $mirror into $ROOTFS (a few minutes, once; log: $CACHE/debian12-v1.build.log)"
  if ! debootstrap --variant=minbase "$SUITE" "$tmp" "$mirror" >"$CACHE/debian12-v1.build.log" 2>&1; then
    tail -30 "$CACHE/debian12-v1.build.log" >&2
    exit 1
  fi
  chroot "$tmp" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home --shell /bin/bash node && apt-get clean && rm -rf /var/lib/apt/lists/*'
  echo "debian12-v1 $SUITE minbase from $mirror, $(date -u +%FT%TZ)" >"$tmp/etc/tsplay-rootfs"
  mv "$tmp" "$ROOTFS"
}

# The base image: the root filesystem plus this machine's node and npm under /usr/local, as in
# node:20-slim. Only files are added (no container runs), so `podman import` is all it takes.
ensure_base() {
  podman image exists "$BASE" && return
  ensure_rootfs
  local stage
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  mkdir -p -m 0755 "$stage/usr/local/bin" "$stage/usr/local/lib/node_modules"
  cp "$NODE" "$stage/usr/local/bin/node"
  cp -a "$NPM_DIR" "$stage/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
  local members=(usr/local/bin/node usr/local/bin/npm usr/local/bin/npx usr/local/lib/node_modules)
  local changes=(--change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]')
  if [ "$CA_TAG" != none ]; then
    install -D -m 0644 "$CAFILE" "$stage/usr/local/share/tsplay/ca-certificates.crt"
    members+=(usr/local/share/tsplay)
    changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/tsplay/ca-certificates.crt')
  fi
  log "podman import $BASE (node $NODE_VERSION from $NODE, CA bundle: ${CAFILE:-none})"
  # Members are named one by one: a `.` of the stage would reset the modes of / and /usr.
  tar --numeric-owner -cf - -C "$ROOTFS" . -C "$stage" "${members[@]}" | podman import "${changes[@]}" - "$BASE" >/dev/null
}

case "${1:-}" in
  build)
    ensure_base
    log "podman build $IMAGE (FROM $BASE)"
    # --pull=never: nothing is fetched from a container registry. --network=host: the RUN steps reach
    # the npm registry as the machine does, with no bridge, NAT or ip_forward set up for them.
    podman build "${CONTAINER_FLAGS[@]}" --network=host --pull=never --build-arg "BASE=$BASE" -t "$IMAGE" -f Dockerfile . >&2
    echo "$IMAGE"
    ;;
  run)
    shift
    exec podman run "${CONTAINER_FLAGS[@]}" "$@"
    ;;
  *)
    echo "usage: $0 build | run PODMAN-RUN-ARGS..." >&2
    exit 2
    ;;
esac
