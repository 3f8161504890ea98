"""pyinfra inventory of the bench's test hosts: the bench writes them to $BENCH_PYINFRA_HOSTS (JSON)."""

import json
import os

with open(os.environ["BENCH_PYINFRA_HOSTS"]) as f:
    _spec = json.load(f)

hosts = [
    (
        h["name"],
        {
            "ssh_hostname": h["address"],
            "ssh_port": h["port"],
            "ssh_user": "root",
            "ssh_key": _spec["keyFile"],
            "ssh_known_hosts_file": _spec["knownHostsFile"],
            "ssh_strict_host_key_checking": "yes",
            "node_ip": h["nodeIp"],
        },
    )
    for h in _spec["hosts"]
]
