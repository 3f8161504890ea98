"""The host part of a kubelet role, as the bench runs it with pyinfra 3 (bench/README.md).

Same work as bench/tsplay/kubelet.yml and bench/ansible/kubelet.yml; the bench checks that.
The templates are the same files tsplay renders (bench/templates/, plain substitutions only).
The controller files come from the bench in BENCH_CA_SRC and BENCH_KUBELET_BINARY_SRC.
pyinfra 3 has no handlers: the restart runs `_if=any_changed(...)` of the notifying operations.
"""

import json
import os

from pyinfra import host
from pyinfra.facts.server import Command
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(BENCH, "vars.json")) as f:
    V = json.load(f)
CA_SRC = os.environ["BENCH_CA_SRC"]
KUBELET_SRC = os.environ["BENCH_KUBELET_BINARY_SRC"]
TEMPLATES = os.path.join(BENCH, "templates")

# The variables the templates read: the shared ones, the host's name and its own address (node_ip:
# the inventory's, not where pyinfra connects, which is the latency proxy under --rtt).
template_vars = dict(V, inventory_hostname=host.name, node_ip=host.data.node_ip)

notifying = []

for path in (V["kubelet_root_dir"], V["k8s_conf_dir"], V["k8s_pki_dir"], V["kubelet_volume_plugin_dir"]):
    notifying.append(files.directory(name=f"working directory {path}", path=path, mode="755"))

# swapoff -a fails on hosts without swap ("Not superuser" on the test hosts): read /proc/swaps first.
proc_swaps = host.get_fact(Command, "cat /proc/swaps") or ""
if len(proc_swaps.strip().splitlines()) > 1:
    server.shell(name="swap off now", commands=["swapoff -a"])

files.replace(
    name="swap off after a reboot (comment out swap entries in /etc/fstab)",
    path="/etc/fstab",
    text=r"^([^#].*[[:space:]]swap[[:space:]].*)$",
    replace=r"#\1",
    extended_regex=True,
)

notifying.append(files.put(name="cluster CA", src=CA_SRC, dest=V["ca_file"], mode="644"))
notifying.append(files.put(name="kubelet binary", src=KUBELET_SRC, dest=V["kubelet_bin"], mode="755"))
notifying.append(
    files.template(
        name="bootstrap kubeconfig",
        src=os.path.join(TEMPLATES, "bootstrap-kubelet.conf.tpl"),
        dest=V["bootstrap_kubeconfig"],
        mode="600",
        **template_vars,
    )
)
notifying.append(
    files.template(
        name="kubelet-config.yaml",
        src=os.path.join(TEMPLATES, "kubelet-config.yaml.tpl"),
        dest=V["kubelet_config_file"],
        mode="644",
        **template_vars,
    )
)
containerd_unit = files.put(
    name="containerd.service (stand-in container runtime)",
    src=os.path.join(BENCH, "files", "containerd.service"),
    dest=V["containerd_unit_file"],
    mode="644",
)
kubelet_unit = files.template(
    name="kubelet.service",
    src=os.path.join(TEMPLATES, "kubelet.service.tpl"),
    dest=V["kubelet_unit_file"],
    mode="644",
    **template_vars,
)
notifying.append(kubelet_unit)

systemd.daemon_reload(name="daemon-reload (only when a unit file changed)", _if=any_changed(containerd_unit, kubelet_unit))
systemd.service(name="containerd enabled and started", service="containerd.service", running=True, enabled=True)
systemd.service(name="kubelet enabled and started", service="kubelet.service", running=True, enabled=True)
systemd.service(name="restart kubelet (handler)", service="kubelet.service", restarted=True, _if=any_changed(*notifying))
