#!/usr/bin/python3
"""TEST STAND-IN FOR KUBE-PROXY. NOT KUBE-PROXY: it programs no IPVS or iptables rules.

The local test inventory (test/e2e/local-cluster.ts) sets kube_proxy_binary_src to this file, so
the kube-proxy role copies it to /opt/k8s/bin/kube-proxy and systemd starts it from the unit tsplay
wrote. With exactly the files tsplay put on the node it checks what kube-proxy would need first:
--config (kube-proxy-config.yaml) names a kubeconfig whose server, CA and client certificate
(CN system:kube-proxy) authenticate, and RBAC lets that user read its Node (system:node-proxier).
Then it stays up, answering http://<healthzBindAddress>/healthz. On any failure it exits 1, and
systemd (Restart=on-failure) starts it again. Python 3 standard library only.
"""
import base64
import http.server
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request


def log(msg):
    print("kube-proxy stand-in: " + msg, flush=True)


def yaml_scalar(text, key):
    m = re.search(r"^\s*-?\s*%s:\s*(.*?)\s*$" % re.escape(key), text, re.M)
    if not m:
        return None
    v = m.group(1)
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1]
    return v


def main():
    args = dict(m.groups() for m in (re.match(r"^--([^=]+)=(.*)$", a) for a in sys.argv[1:]) if m)
    config = open(args["config"]).read()
    kubeconfig = yaml_scalar(config, "kubeconfig")
    node = yaml_scalar(config, "hostnameOverride") or os.uname().nodename
    healthz = yaml_scalar(config, "healthzBindAddress") or "0.0.0.0:10256"
    log("TEST STAND-IN, not kube-proxy: node %s, kubeconfig %s, mode %s" % (node, kubeconfig, yaml_scalar(config, "mode")))
    kc = open(kubeconfig).read()
    server = yaml_scalar(kc, "server")
    ca = base64.b64decode(yaml_scalar(kc, "certificate-authority-data")).decode()
    cert = base64.b64decode(yaml_scalar(kc, "client-certificate-data")).decode()
    key = base64.b64decode(yaml_scalar(kc, "client-key-data")).decode()
    os.makedirs("/run/kube-proxy-stand-in", mode=0o700, exist_ok=True)
    pair = "/run/kube-proxy-stand-in/client.pem"
    fd = os.open(pair, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(cert + key)
    ctx = ssl.create_default_context(cadata=ca)
    ctx.load_cert_chain(pair)
    req = urllib.request.Request(server.rstrip("/") + "/api/v1/nodes/" + node, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as res:
            json.loads(res.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError("GET Node %s as the kubeconfig's user: HTTP %s %s" % (node, e.code, e.read().decode(errors="replace")[:300]))
    log("the kubeconfig authenticates and may read Node %s" % node)

    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path.split("?")[0] == "/healthz"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"not found")

        def log_message(self, *a):
            pass

    host, _, port = healthz.rpartition(":")
    srv = http.server.ThreadingHTTPServer((host or "0.0.0.0", int(port)), Healthz)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    log("running; healthz on http://%s/healthz" % healthz)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        log("failed: %s" % e)
        sys.exit(1)
