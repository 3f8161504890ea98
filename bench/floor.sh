#!/bin/sh
# The floor: what a converged run cannot avoid. One OpenSSH session per host, all at once, no
# connection sharing, each reading only what a converged run must read: type, mode and owner of
# every managed path, sha256 of every managed file, the units' state, /proc/swaps and /etc/fstab.
# The 50 MB binary is hashed the fastest way the host has (openssl, else Python's hashlib: both
# use the CPU's SHA instructions, coreutils' sha256sum does not), as tsplay and the peers do.
#   floor.sh KEY KNOWN_HOSTS NAME,ADDRESS,PORT...
# (ADDRESS,PORT: the host's sshd, or its latency proxy under --rtt; KNOWN_HOSTS has the keys
# under those.) Exits non-zero when any session failed. Paths are the ones in bench/vars.json.
set -u
key=$1 known=$2
shift 2
read_state='
stat -c "%n %F %a %U %G" /var/lib/kubelet /etc/kubernetes /etc/kubernetes/pki /usr/libexec/kubernetes/kubelet-plugins/volume/exec /etc/kubernetes/pki/ca.crt /usr/local/bin/kubelet /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/kubelet-config.yaml /etc/systemd/system/containerd.service /etc/systemd/system/kubelet.service
sha256sum /etc/kubernetes/pki/ca.crt /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/kubelet-config.yaml /etc/systemd/system/containerd.service /etc/systemd/system/kubelet.service /etc/fstab
if command -v openssl >/dev/null; then openssl dgst -sha256 -r /usr/local/bin/kubelet; else python3 -c "import hashlib; print(hashlib.sha256(open(\"/usr/local/bin/kubelet\", \"rb\").read()).hexdigest())"; fi
systemctl show -p LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload containerd.service kubelet.service
cat /proc/swaps
'
pids=
for spec in "$@"; do
  rest=${spec#*,} addr=${rest%,*} port=${rest##*,}
  ssh -F /dev/null -p "$port" -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes -o ControlMaster=no -o ControlPath=none \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$known" -o GlobalKnownHostsFile=/dev/null \
    -o LogLevel=ERROR "root@$addr" "$read_state" >"/dev/null" &
  pids="$pids $!"
done
rc=0
for p in $pids; do wait "$p" || rc=1; done
exit $rc
