# Managed by the tsplay bench (same template for tsplay, Ansible and pyinfra).
kind: KubeletConfiguration
apiVersion: kubelet.config.k8s.io/v1beta1
address: "{{ node_ip }}"
staticPodPath: ""
syncFrequency: 1m
fileCheckFrequency: 20s
httpCheckFrequency: 20s
port: {{ kubelet_port }}
readOnlyPort: 0
rotateCertificates: true
serverTLSBootstrap: true
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: "{{ ca_file }}"
authorization:
  mode: Webhook
registryPullQPS: 0
registryBurst: 20
eventRecordQPS: 0
eventBurst: 20
enableDebuggingHandlers: true
healthzPort: {{ kubelet_healthz_port }}
healthzBindAddress: "{{ node_ip }}"
clusterDomain: "{{ cluster_domain }}"
clusterDNS:
  - "{{ cluster_dns_ip }}"
nodeStatusUpdateFrequency: 10s
nodeStatusReportFrequency: 1m
imageMinimumGCAge: 2m
imageGCHighThresholdPercent: 85
imageGCLowThresholdPercent: 80
volumeStatsAggPeriod: 1m
cgroupDriver: {{ kubelet_cgroup_driver }}
runtimeRequestTimeout: 10m
containerRuntimeEndpoint: "{{ runtime_endpoint }}"
hairpinMode: promiscuous-bridge
maxPods: {{ kubelet_max_pods }}
podCIDR: "{{ cluster_cidr }}"
podPidsLimit: -1
resolvConf: /etc/resolv.conf
maxOpenFiles: 1000000
kubeAPIQPS: 1000
kubeAPIBurst: 2000
serializeImagePulls: false
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "10%"
  nodefs.inodesFree: "5%"
  imagefs.available: "15%"
failSwapOn: true
containerLogMaxSize: 20Mi
containerLogMaxFiles: 10
volumePluginDir: "{{ kubelet_volume_plugin_dir }}"
