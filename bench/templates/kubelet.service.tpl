# Managed by the tsplay bench (same template for tsplay, Ansible and pyinfra).
# The "kubelet binary" is random bytes the size of a real kubelet: this unit checks that it is
# in place, then only sleeps, so systemd manages a unit shaped like the real one.
[Unit]
Description=Kubernetes Kubelet (bench stand-in)
Documentation=https://kubernetes.io/docs/
After={{ runtime_unit }}
Requires={{ runtime_unit }}

[Service]
WorkingDirectory={{ kubelet_root_dir }}
Environment="KUBELET_ARGS=--bootstrap-kubeconfig={{ bootstrap_kubeconfig }} --kubeconfig={{ kubelet_kubeconfig }} --config={{ kubelet_config_file }} --cert-dir={{ k8s_pki_dir }} --root-dir={{ kubelet_root_dir }} --hostname-override={{ inventory_hostname }} --node-ip={{ node_ip }} --volume-plugin-dir={{ kubelet_volume_plugin_dir }} --v={{ kubelet_verbosity }}"
ExecStartPre=/usr/bin/test -s {{ kubelet_bin }}
ExecStart=/bin/sleep infinity
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
