#!/usr/bin/env bash
# Builds, from the Go module proxy, the test control plane (kube-apiserver, kube-controller-manager,
# etcd) and the upstream node binaries the e2e test installs on the test hosts (kubelet,
# kube-proxy), into a cache outside the repo:
#   ${TSPLAY_CACHE:-/var/cache/tsplay}/k8s/<k8s-version>/{kube-apiserver,kube-controller-manager,etcd}
#   ${TSPLAY_CACHE:-/var/cache/tsplay}/k8s/<k8s-version>/{kubelet,kube-proxy}
#   ${TSPLAY_CACHE:-/var/cache/tsplay}/k8s/<k8s-version>/{standin-kubelet,standin-kube-proxy}
# The stand-ins (standin/, standard library only) are the labelled fallback the e2e harness uses
# only on a machine where the upstream kubelet cannot run (test/e2e/README.md).
# Prints that directory as its last line of stdout; progress goes to stderr.
# Rerunning on a warm machine only checks a stamp, so callers may run it before every test file.
#
#   build.sh           all of the above. Everything builds without cgo (CGO_ENABLED=0, static):
#                      the test hosts have no Go toolchain or matching libc to rely on.
#   build.sh csrcheck  only csrcheck (csrcheck/main.go: the cluster's own CSR parsing, validation and
#                      signing, the oracle of test/unit/k8s/csr-differential.test.ts), with its own
#                      stamp that leaves the control plane alone; prints the binary's path
#   build.sh fake-cri  also the upstream CRI fake (k8s.io/cri-client/pkg/fake, fakecri/): not used
#                      by any test; kept to diagnose a kubelet without a working containerd.
set -euo pipefail

want_fakecri=0
only_csrcheck=0
case "${1:-}" in
  "") ;;
  fake-cri) want_fakecri=1 ;;
  csrcheck) only_csrcheck=1 ;;
  *) echo "usage: $0 [fake-cri|csrcheck]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

log() { echo "[cluster/build] $*" >&2; }

command -v go >/dev/null || { log "go not found on PATH (need Go >= 1.26)"; exit 1; }

k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' go.mod)"
[ -n "$k8s_version" ] || { log "cannot read the k8s.io/kubernetes version from go.mod"; exit 1; }

cache="${TSPLAY_CACHE:-/var/cache/tsplay}"
out="$cache/k8s/$k8s_version"
mkdir -p "$out"

# The directory name carries only the k8s version, so a change to the etcd pin or to
# etcd/main.go would otherwise reuse stale binaries; the stamp catches that.
stamp_want="$(cat go.mod go.sum etcd/main.go fakecri/main.go build.sh | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"
# The stand-ins have their own stamp, so changing one relinks only them (a few seconds).
standin_stamp_want="$(cat go.mod go.sum standin/kubelet/main.go standin/kube-proxy/main.go build.sh | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"
# csrcheck's stamp leaves out build.sh: a unit test builds it, and editing this script must not
# make that test relink the control plane (nor the control plane's build relink csrcheck).
csrcheck_stamp_want="$(cat go.mod go.sum csrcheck/main.go | sha256sum | cut -d' ' -f1) $(go env GOVERSION) trimpath cgo0"
have_csrcheck() {
  [ -x "$out/csrcheck" ] && [ "$(cat "$out/.stamp-csrcheck" 2>/dev/null)" = "$csrcheck_stamp_want" ]
}
have_all() {
  [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/etcd" ] &&
    [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp_want" ]
}
have_nodes() {
  [ -x "$out/kubelet" ] && [ -x "$out/kube-proxy" ] && [ "$(cat "$out/.stamp-nodes" 2>/dev/null)" = "$stamp_want" ]
}
have_fakecri() {
  [ -x "$out/fake-cri" ] && [ "$(cat "$out/.stamp-fakecri" 2>/dev/null)" = "$stamp_want" ]
}
have_standins() {
  [ -x "$out/standin-kubelet" ] && [ -x "$out/standin-kube-proxy" ] &&
    [ "$(cat "$out/.stamp-standin" 2>/dev/null)" = "$standin_stamp_want" ]
}
have_wanted() {
  if [ "$only_csrcheck" = 1 ]; then have_csrcheck; return; fi
  have_all && have_nodes && have_standins && { [ "$want_fakecri" = 0 ] || have_fakecri; }
}
# What this invocation prints: the directory, or csrcheck's path.
result="$out"
[ "$only_csrcheck" = 0 ] || result="$out/csrcheck"

if have_wanted; then
  log "up to date: $result"
  echo "$result"
  exit 0
fi

# Several vitest workers may call this at once on a cold machine; one builds, the rest wait.
exec 9>"$out/.lock"
log "waiting for build lock $out/.lock"
flock 9
if have_wanted; then
  log "built by another process meanwhile: $result"
  echo "$result"
  exit 0
fi

minor="${k8s_version#v1.}"; minor="${minor%%.*}"
vflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  # Without these, /version reports v0.0.0-master, which clients print and some compare.
  vflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath"
export CGO_ENABLED=0

build() { # name package
  local name="$1" pkg="$2" t0 t1
  t0=$(date +%s)
  log "go build $pkg -> $out/$name"
  go build -ldflags="-s -w$vflags" -o "$out/.$name.tmp" "$pkg"
  mv -f "$out/.$name.tmp" "$out/$name"
  t1=$(date +%s)
  log "built $name in $((t1 - t0))s ($(du -h "$out/$name" | cut -f1))"
}

if [ "$only_csrcheck" = 1 ]; then
  rm -f "$out/.stamp-csrcheck"
  build csrcheck ./csrcheck
  echo "$csrcheck_stamp_want" >"$out/.stamp-csrcheck"
  echo "$result"
  exit 0
fi

log "building k8s $k8s_version with $(go env GOVERSION) (GOMODCACHE=$(go env GOMODCACHE), GOCACHE=$(go env GOCACHE))"
if ! have_all; then
  rm -f "$out/.stamp"
  build etcd ./etcd
  build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
  build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
  echo "$stamp_want" >"$out/.stamp"
fi
if ! have_standins; then
  rm -f "$out/.stamp-standin"
  build standin-kubelet ./standin/kubelet
  build standin-kube-proxy ./standin/kube-proxy
  echo "$standin_stamp_want" >"$out/.stamp-standin"
fi
if ! have_nodes; then
  rm -f "$out/.stamp-nodes"
  build kubelet k8s.io/kubernetes/cmd/kubelet
  build kube-proxy k8s.io/kubernetes/cmd/kube-proxy
  echo "$stamp_want" >"$out/.stamp-nodes"
fi
if [ "$want_fakecri" = 1 ] && ! have_fakecri; then
  rm -f "$out/.stamp-fakecri"
  build fake-cri ./fakecri
  echo "$stamp_want" >"$out/.stamp-fakecri"
fi
log "done: $out"
echo "$out"
