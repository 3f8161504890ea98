#!/bin/sh
# The first-run floor: what a first run cannot avoid. One OpenSSH session per host, all at once,
# no connection sharing, each doing only what the first run must do on a fresh host: make the
# working directories, receive the six managed files (the same bytes the tools send: one tar
# stream over the session's stdin, modes and root ownership in the archive), the swap edit
# (swapoff -a when /proc/swaps lists any, comment out swap lines in /etc/fstab when there are
# any), then enable and start both units. `systemctl enable` reloads systemd itself (the
# daemon-reload a new unit file needs), and `--now` starts the units in the same call. No checks,
# no atomic renames, no restart: the bench checks afterwards that the hosts hold exactly what
# tsplay's first run left (same files, modes, owners, unit states).
#   floor-first.sh KEY KNOWN_HOSTS STAGING NAME,ADDRESS,PORT...
# STAGING (bench/lib/first-floor.ts) has common/ (the files every host gets) and NAME/ (that
# host's rendered templates), each laid out as under /. Paths are the ones in bench/vars.json.
set -u
key=$1 known=$2 staging=$3
shift 3
apply='
set -e
mkdir -p /var/lib/kubelet /etc/kubernetes/pki /usr/libexec/kubernetes/kubelet-plugins/volume/exec
tar -x -C / -f -
if [ "$(wc -l </proc/swaps)" -gt 1 ]; then swapoff -a; fi
if grep -qE "^[^#].*[[:space:]]swap[[:space:]]" /etc/fstab; then sed -i -E "s/^([^#].*[[:space:]]swap[[:space:]].*)$/#\1/" /etc/fstab; fi
systemctl enable --now -q containerd.service kubelet.service
'
common=$(cd "$staging/common" && find . -type f | sort)
pids=
for spec in "$@"; do
  name=${spec%%,*} rest=${spec#*,}
  addr=${rest%,*} port=${rest##*,}
  own=$(cd "$staging/$name" && find . -type f | sort)
  # shellcheck disable=SC2086 # the file lists are split on purpose (paths without spaces)
  tar -c -f - --owner=0 --group=0 --numeric-owner -C "$staging/common" $common -C "$staging/$name" $own |
    ssh -F /dev/null -p "$port" -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes -o ControlMaster=no -o ControlPath=none \
      -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$known" -o GlobalKnownHostsFile=/dev/null \
      -o LogLevel=ERROR "root@$addr" "$apply" >/dev/null &
  pids="$pids $!"
done
rc=0
for p in $pids; do wait "$p" || rc=1; done
exit $rc
