# Managed by the tsplay bench: the same template file is rendered by tsplay (Handlebars),
# Ansible and pyinfra (Jinja2); it uses only plain variable substitutions, which mean the same in both.
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: {{ ca_file }}
    server: {{ kube_apiserver }}
  name: {{ cluster_name }}
contexts:
- context:
    cluster: {{ cluster_name }}
    user: kubelet-bootstrap
  name: default
current-context: default
preferences: {}
users:
- name: kubelet-bootstrap
  user:
    token: {{ bootstrap_token }}
