#!/usr/bin/python3
"""TEST STAND-IN FOR THE KUBELET. NOT A KUBELET: it runs no pods and talks to no container runtime.

The local test inventory (test/e2e/local-cluster.ts) sets kubelet_binary_src to this file, so the
kubelet role copies it to /opt/k8s/bin/kubelet and systemd starts it from the unit tsplay wrote,
with the seeds' flags. It does, with exactly the files tsplay put on the node, the part of a
kubelet's start that the worker playbook depends on (test/e2e/README.md):

  1. TLS bootstrap (seed 002): unless --kubeconfig and <--cert-dir>/kubelet-client-current.pem
     exist, write --kubeconfig pointing at that certificate (the kubelet does this first), read
     --bootstrap-kubeconfig, make an ECDSA P-256 key and a CSR for
     CN=system:node:<--hostname-override>, O=system:nodes, post it with the bootstrap token (signer
     kubernetes.io/kube-apiserver-client-kubelet), wait for the controller-manager to approve and
     sign it, then write <--cert-dir>/kubelet-client-<time>.pem (certificate + key) and the
     kubelet-client-current.pem link, as a kubelet does.
  2. Register its Node (as the node, through NodeRestriction) with the address of --config
     (`address:` of kubelet-config.yaml), Ready=False: there is no runtime.
  3. serverTLSBootstrap: unless <--cert-dir>/kubelet-server-current.pem exists, post a serving CSR
     (signer kubernetes.io/kubelet-serving, SANs: the node name and address) as the node, wait
     until it is approved (by tsplay's kubelet-csr role) and signed, write the certificate.
  4. Stay up, answering http://<address>:<healthzPort>/healthz with "ok".

Any step that fails exits 1, so systemd (Restart=always) starts it again, as with a kubelet.
Only the Python 3 standard library is used (the test hosts have no openssl): P-256 ECDSA and the
PKCS#10 DER encoding are written out below. It never prints the bootstrap token.
"""
import base64
import datetime
import hashlib
import http.server
import ipaddress
import json
import os
import re
import secrets
import ssl
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

# ---------------------------------------------------------------------------- P-256 ECDSA (FIPS 186-4)
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)


def ec_add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0]:
        if (p[1] + q[1]) % P == 0:
            return None
        slope = (3 * p[0] * p[0] + A) * pow(2 * p[1], -1, P) % P
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, P) % P
    x = (slope * slope - p[0] - q[0]) % P
    return (x, (slope * (p[0] - x) - p[1]) % P)


def ec_mul(k, point):
    result = None
    while k:
        if k & 1:
            result = ec_add(result, point)
        point = ec_add(point, point)
        k >>= 1
    return result


def ecdsa_sign(d, message):
    h = int.from_bytes(hashlib.sha256(message).digest(), "big")
    while True:
        k = secrets.randbelow(N - 1) + 1
        r = ec_mul(k, G)[0] % N
        s = pow(k, -1, N) * (h + r * d) % N
        if r and s:
            return r, s


# ---------------------------------------------------------------------------- DER
def der(tag, body):
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + length + body


def seq(*items):
    return der(0x30, b"".join(items))


def set_of(*items):
    return der(0x31, b"".join(items))


def integer(v):
    return der(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))


def oid(dotted):
    arcs = [int(x) for x in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for v in arcs[2:]:
        enc = [v & 0x7F]
        v >>= 7
        while v:
            enc.append(0x80 | (v & 0x7F))
            v >>= 7
        body += bytes(reversed(enc))
    return der(0x06, body)


def bit_string(b):
    return der(0x03, b"\x00" + b)


def pem(label, data):
    b64 = base64.b64encode(data).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_P256 = "1.2.840.10045.3.1.7"
OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2"


def new_key():
    """An EC P-256 key: (d, "EC PRIVATE KEY" PEM, uncompressed public point)."""
    d = secrets.randbelow(N - 1) + 1
    x, y = ec_mul(d, G)
    public = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
    sec1 = seq(integer(1), der(0x04, d.to_bytes(32, "big")), der(0xA0, oid(OID_P256)), der(0xA1, bit_string(public)))
    return d, pem("EC PRIVATE KEY", sec1), public


def csr_pem(d, public, cn, org, dns_names=(), ips=()):
    """PKCS#10: subject O=<org>, CN=<cn> (Go's order, as the kubelet's), optional SANs."""
    name = seq(set_of(seq(oid("2.5.4.10"), der(0x0C, org.encode()))), set_of(seq(oid("2.5.4.3"), der(0x0C, cn.encode()))))
    spki = seq(seq(oid(OID_EC_PUBLIC_KEY), oid(OID_P256)), bit_string(public))
    sans = [der(0x82, n.encode()) for n in dns_names] + [der(0x87, ipaddress.ip_address(i).packed) for i in ips]
    if sans:
        ext = seq(oid("2.5.29.17"), der(0x04, seq(*sans)))
        attributes = der(0xA0, seq(oid("1.2.840.113549.1.9.14"), set_of(seq(ext))))
    else:
        attributes = der(0xA0, b"")
    info = seq(integer(0), name, spki, attributes)
    r, s = ecdsa_sign(d, info)
    return pem("CERTIFICATE REQUEST", seq(info, seq(oid(OID_ECDSA_SHA256)), bit_string(seq(integer(r), integer(s)))))


# ---------------------------------------------------------------------------- files and flags
def log(msg):
    print("kubelet stand-in: " + msg, flush=True)


def flags(argv):
    out = {}
    for a in argv:
        m = re.match(r"^--([^=]+)=(.*)$", a)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def yaml_scalar(text, key):
    """A top-level-ish `key: value` of the simple YAML tsplay writes (kubeconfig, kubelet-config)."""
    m = re.search(r"^\s*-?\s*%s:\s*(.*?)\s*$" % re.escape(key), text, re.M)
    if not m:
        return None
    v = m.group(1)
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1]
    return v


def write_atomic(path, data, mode=0o600):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path))
    with os.fdopen(fd, "w") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def link_current(cert_dir, kind, pem_text):
    """<cert-dir>/kubelet-<kind>-<time>.pem and the kubelet-<kind>-current.pem link, as the kubelet's file store."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")
    target = os.path.join(cert_dir, "kubelet-%s-%s.pem" % (kind, stamp))
    write_atomic(target, pem_text)
    current = os.path.join(cert_dir, "kubelet-%s-current.pem" % kind)
    tmp = current + ".tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, current)
    return current


# ---------------------------------------------------------------------------- API
class Api:
    def __init__(self, server, ca_pem, token=None, cert_file=None):
        self.server = server.rstrip("/")
        self.ctx = ssl.create_default_context(cadata=ca_pem)
        if cert_file:
            self.ctx.load_cert_chain(cert_file)
        self.token = token

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text


CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def request_certificate(api, csr_text, signer, usages, prefix, timeout):
    """Post a CSR, wait until it is approved and signed; returns the certificate PEM."""
    name = prefix + hashlib.sha256(csr_text.encode()).hexdigest()[:32]
    body = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": base64.b64encode(csr_text.encode()).decode(), "signerName": signer, "usages": usages},
    }
    code, answer = api.call("POST", CSR_PATH, body)
    if code not in (200, 201):
        raise RuntimeError("create CSR %s (%s): HTTP %s %s" % (name, signer, code, answer.get("message") if isinstance(answer, dict) else answer))
    log("created CSR %s (%s), waiting for approval and signing" % (name, signer))
    deadline = time.time() + timeout
    while time.time() < deadline:
        code, got = api.call("GET", CSR_PATH + "/" + name)
        if code == 200:
            status = got.get("status") or {}
            for c in status.get("conditions") or []:
                if c.get("type") in ("Denied", "Failed") and c.get("status") == "True":
                    raise RuntimeError("CSR %s %s: %s" % (name, c["type"].lower(), c.get("message", "")))
            if status.get("certificate"):
                log("CSR %s issued" % name)
                return base64.b64decode(status["certificate"]).decode()
        time.sleep(1)
    raise RuntimeError("CSR %s not issued within %ss" % (name, timeout))


def kubeconfig_text(server, ca_b64, cert_file):
    """The kubeconfig a kubelet writes after its TLS bootstrap (same names and layout)."""
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        "    certificate-authority-data: %s\n"
        "    server: %s\n"
        "  name: default-cluster\n"
        "contexts:\n"
        "- context:\n"
        "    cluster: default-cluster\n"
        "    namespace: default\n"
        "    user: default-auth\n"
        "  name: default-context\n"
        "current-context: default-context\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        "- name: default-auth\n"
        "  user:\n"
        "    client-certificate: %s\n"
        "    client-key: %s\n"
    ) % (ca_b64, server, cert_file, cert_file)


def main():
    f = flags(sys.argv[1:])
    node = f.get("hostname-override") or os.uname().nodename
    cert_dir = f.get("cert-dir", "/var/lib/kubelet/pki")
    kubeconfig = f.get("kubeconfig", "/etc/kubernetes/kubelet.kubeconfig")
    bootstrap = f.get("bootstrap-kubeconfig", "")
    config = open(f["config"]).read() if f.get("config") else ""
    address = yaml_scalar(config, "address") or "127.0.0.1"
    healthz_address = yaml_scalar(config, "healthzBindAddress") or address
    healthz_port = int(yaml_scalar(config, "healthzPort") or 10248)
    log("TEST STAND-IN, not a kubelet: node %s, address %s, cert dir %s" % (node, address, cert_dir))
    os.makedirs(cert_dir, exist_ok=True)

    client_cert = os.path.join(cert_dir, "kubelet-client-current.pem")
    if not (os.path.exists(kubeconfig) and os.path.exists(client_cert)):
        # 1. TLS bootstrap with the token of the bootstrap kubeconfig.
        text = open(bootstrap).read()
        server, ca_b64, token = yaml_scalar(text, "server"), yaml_scalar(text, "certificate-authority-data"), yaml_scalar(text, "token")
        if not (server and ca_b64 and token):
            raise RuntimeError("%s lacks server, certificate-authority-data or token" % bootstrap)
        api = Api(server, base64.b64decode(ca_b64).decode(), token=token)
        # As the kubelet (v1.37 bootstrap.go): the kubeconfig pointing at the certificate first,
        # then the CSR; a kubelet that dies in between leaves a kubeconfig without a certificate.
        write_atomic(kubeconfig, kubeconfig_text(server, ca_b64, client_cert))
        d, key_pem, public = new_key()
        csr = csr_pem(d, public, "system:node:" + node, "system:nodes")
        cert = request_certificate(api, csr, "kubernetes.io/kube-apiserver-client-kubelet", ["digital signature", "client auth"], "node-csr-", 120)
        link_current(cert_dir, "client", cert + key_pem)
        log("bootstrapped: wrote %s (%s points at it)" % (client_cert, kubeconfig))
    else:
        log("already bootstrapped (%s exists)" % kubeconfig)
    text = open(kubeconfig).read()
    server, ca_b64 = yaml_scalar(text, "server"), yaml_scalar(text, "certificate-authority-data")
    api = Api(server, base64.b64decode(ca_b64).decode(), cert_file=client_cert)

    # 2. The Node object, as the node.
    labels = {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    code, answer = api.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": labels}})
    if code not in (200, 201, 409):
        raise RuntimeError("register Node %s: HTTP %s %s" % (node, code, answer.get("message") if isinstance(answer, dict) else answer))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = {
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": node}],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "TsplayTestStandIn",
                    "message": "tsplay test stand-in for the kubelet: no container runtime, no pods",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "nodeInfo": {"kubeletVersion": "tsplay-test-stand-in", "operatingSystem": "linux", "architecture": "amd64"},
        }
    }
    code, answer = api.call("PATCH", "/api/v1/nodes/%s/status" % node, status, "application/merge-patch+json")
    if code != 200:
        raise RuntimeError("update Node %s status: HTTP %s %s" % (node, code, answer.get("message") if isinstance(answer, dict) else answer))
    log("Node %s registered (%s)" % (node, "created" if code != 409 else "exists"))

    # 3. The serving certificate (serverTLSBootstrap), approved by tsplay's kubelet-csr role.
    serving = os.path.join(cert_dir, "kubelet-server-current.pem")
    if not os.path.exists(serving):
        d, key_pem, public = new_key()
        csr = csr_pem(d, public, "system:node:" + node, "system:nodes", dns_names=[node], ips=[address])
        cert = request_certificate(api, csr, "kubernetes.io/kubelet-serving", ["digital signature", "server auth"], "csr-", 900)
        link_current(cert_dir, "server", cert + key_pem)
        log("wrote serving certificate %s" % serving)
    else:
        log("serving certificate %s exists" % serving)

    # 4. Stay up, with a healthz endpoint like the kubelet's.
    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path.split("?")[0] == "/healthz"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"not found")

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer((healthz_address, healthz_port), Healthz)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    log("running; healthz on http://%s:%d/healthz" % (healthz_address, healthz_port))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # systemd restarts us (Restart=always), as it would a kubelet
        log("failed: %s" % e)
        sys.exit(1)
