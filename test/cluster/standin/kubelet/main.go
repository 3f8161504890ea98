// TEST STAND-IN FOR THE KUBELET. NOT A KUBELET: it runs no pods and talks to no container runtime.
//
// test/cluster/build.sh builds it (static, CGO_ENABLED=0) as <cache>/k8s/<version>/standin-kubelet;
// the local test inventory (test/e2e/local-cluster.ts) sets kubelet_binary_src to that file, so
// the kubelet role copies it to /opt/k8s/bin/kubelet and systemd starts it from the unit tsplay
// wrote, with the guides' flags. It does, with exactly the files tsplay put on the node, the part
// of a kubelet's start that the worker playbook depends on (test/e2e/README.md):
//
//  1. TLS bootstrap (guide 002): unless --kubeconfig and <--cert-dir>/kubelet-client-current.pem
//     exist, write --kubeconfig pointing at that certificate (the kubelet does this first), read
//     --bootstrap-kubeconfig, make an ECDSA P-256 key and a CSR for
//     CN=system:node:<--hostname-override>, O=system:nodes, post it with the bootstrap token
//     (signer kubernetes.io/kube-apiserver-client-kubelet), wait for the controller-manager to
//     approve and sign it, then write <--cert-dir>/kubelet-client-<time>.pem (certificate + key)
//     and the kubelet-client-current.pem link, as a kubelet does.
//  2. Register its Node (as the node, through NodeRestriction) with the address of --config
//     (`address:` of kubelet-config.yaml), Ready=False: there is no runtime.
//  3. serverTLSBootstrap: unless <--cert-dir>/kubelet-server-current.pem exists, post a serving
//     CSR (signer kubernetes.io/kubelet-serving, SANs: the node name and address) as the node,
//     wait until it is approved (by tsplay's kubelet-csr role) and signed, write the certificate.
//  4. Stay up, answering http://<healthzBindAddress>:<healthzPort>/healthz with "ok".
//
// Any step that fails exits 1, so systemd (Restart=always) starts it again, as with a kubelet.
// Go standard library only. It never prints the bootstrap token.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func logf(format string, a ...any) {
	fmt.Println("kubelet stand-in: " + fmt.Sprintf(format, a...))
}

// ---------------------------------------------------------------------------- files and flags

var flagRe = regexp.MustCompile(`^--([^=]+)=(.*)$`)

func parseFlags(args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		if m := flagRe.FindStringSubmatch(a); m != nil {
			out[m[1]] = m[2]
		}
	}
	return out
}

// yamlScalar: a top-level-ish `key: value` of the simple YAML tsplay writes (kubeconfig, kubelet-config).
func yamlScalar(text, key string) (string, bool) {
	m := regexp.MustCompile(`(?m)^\s*-?\s*` + regexp.QuoteMeta(key) + `:\s*(.*?)\s*$`).FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	v := m[1]
	if len(v) >= 2 && v[0] == v[len(v)-1] && (v[0] == '"' || v[0] == '\'') {
		v = v[1 : len(v)-1]
	}
	return v, true
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// linkCurrent: <cert-dir>/kubelet-<kind>-<time>.pem and the kubelet-<kind>-current.pem link, as the kubelet's file store.
func linkCurrent(certDir, kind string, pemData []byte) (string, error) {
	stamp := time.Now().UTC().Format("2006-01-02-15-04-05")
	target := filepath.Join(certDir, fmt.Sprintf("kubelet-%s-%s.pem", kind, stamp))
	if err := writeAtomic(target, pemData); err != nil {
		return "", err
	}
	current := filepath.Join(certDir, fmt.Sprintf("kubelet-%s-current.pem", kind))
	tmp := current + ".tmp"
	if _, err := os.Lstat(tmp); err == nil {
		if err := os.Remove(tmp); err != nil {
			return "", err
		}
	}
	if err := os.Symlink(target, tmp); err != nil {
		return "", err
	}
	return current, os.Rename(tmp, current)
}

func exists(path string) bool {
	_, err := os.Stat(path) // follows links, as os.path.exists
	return err == nil
}

// ---------------------------------------------------------------------------- keys and CSRs

// newKey: an EC P-256 key and its "EC PRIVATE KEY" PEM.
func newKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// csrPEM: PKCS#10, subject O=<org>, CN=<cn> (Go's order, as the kubelet's; UTF8String values),
// optional SANs (DNS names, then IP addresses).
func csrPEM(key *ecdsa.PrivateKey, cn, org string, dnsNames, ips []string) ([]byte, error) {
	utf8 := func(s string) asn1.RawValue { return asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(s)} }
	subject, err := asn1.Marshal(pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: utf8(org)}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: utf8(cn)}},
	})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{RawSubject: subject, DNSNames: dnsNames, SignatureAlgorithm: x509.ECDSAWithSHA256}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("'%s' does not appear to be an IPv4 or IPv6 address", s)
		}
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ---------------------------------------------------------------------------- API

type api struct {
	server string
	client *http.Client
	token  string
}

func newAPI(server string, caPEM []byte, token, certFile string) (*api, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no CA certificate in certificate-authority-data")
	}
	cfg := &tls.Config{RootCAs: pool}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, certFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return &api{
		server: strings.TrimRight(server, "/"),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}},
		token:  token,
	}, nil
}

// call returns the HTTP status and the decoded JSON answer (the raw text if an error status's body is not JSON).
func (a *api) call(method, path string, body any, contentType string) (int, any, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, a.server+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	res, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	text, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	var answer any
	if len(text) > 0 {
		if err := json.Unmarshal(text, &answer); err != nil {
			if res.StatusCode < 400 {
				return 0, nil, fmt.Errorf("%s %s: HTTP %d, not JSON: %v", method, path, res.StatusCode, err)
			}
			return res.StatusCode, string(text), nil
		}
	}
	return res.StatusCode, answer, nil
}

// message: the answer's "message" if it is an object, else the answer itself.
func message(answer any) string {
	if m, ok := answer.(map[string]any); ok {
		if s, ok := m["message"].(string); ok {
			return s
		}
		return "None"
	}
	if s, ok := answer.(string); ok {
		return s
	}
	b, _ := json.Marshal(answer)
	return string(b)
}

const csrPath = "/apis/certificates.k8s.io/v1/certificatesigningrequests"

// requestCertificate posts a CSR, waits until it is approved and signed; returns the certificate PEM.
func requestCertificate(a *api, csr []byte, signer string, usages []string, prefix string, timeout time.Duration) ([]byte, error) {
	sum := sha256.Sum256(csr)
	name := prefix + hex.EncodeToString(sum[:])[:32]
	body := map[string]any{
		"apiVersion": "certificates.k8s.io/v1",
		"kind":       "CertificateSigningRequest",
		"metadata":   map[string]any{"name": name},
		"spec":       map[string]any{"request": base64.StdEncoding.EncodeToString(csr), "signerName": signer, "usages": usages},
	}
	code, answer, err := a.call("POST", csrPath, body, "application/json")
	if err != nil {
		return nil, err
	}
	if code != 200 && code != 201 {
		return nil, fmt.Errorf("create CSR %s (%s): HTTP %d %s", name, signer, code, message(answer))
	}
	logf("created CSR %s (%s), waiting for approval and signing", name, signer)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		code, got, err := a.call("GET", csrPath+"/"+name, nil, "")
		if err != nil {
			return nil, err
		}
		if obj, ok := got.(map[string]any); ok && code == 200 {
			status, _ := obj["status"].(map[string]any)
			conditions, _ := status["conditions"].([]any)
			for _, c := range conditions {
				cond, _ := c.(map[string]any)
				typ, _ := cond["type"].(string)
				if (typ == "Denied" || typ == "Failed") && cond["status"] == "True" {
					msg, _ := cond["message"].(string)
					return nil, fmt.Errorf("CSR %s %s: %s", name, strings.ToLower(typ), msg)
				}
			}
			if cert, _ := status["certificate"].(string); cert != "" {
				logf("CSR %s issued", name)
				return base64.StdEncoding.DecodeString(cert)
			}
		}
		time.Sleep(time.Second)
	}
	return nil, fmt.Errorf("CSR %s not issued within %ds", name, int(timeout.Seconds()))
}

// kubeconfigText: the kubeconfig a kubelet writes after its TLS bootstrap (same names and layout).
func kubeconfigText(server, caB64, certFile string) string {
	return fmt.Sprintf(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    namespace: default
    user: default-auth
  name: default-context
current-context: default-context
kind: Config
preferences: {}
users:
- name: default-auth
  user:
    client-certificate: %s
    client-key: %s
`, caB64, server, certFile, certFile)
}

func run() error {
	f := parseFlags(os.Args[1:])
	node := f["hostname-override"]
	if node == "" {
		h, err := os.Hostname()
		if err != nil {
			return err
		}
		node = h
	}
	certDir := f["cert-dir"]
	if _, ok := f["cert-dir"]; !ok {
		certDir = "/var/lib/kubelet/pki"
	}
	kubeconfig, ok := f["kubeconfig"]
	if !ok {
		kubeconfig = "/etc/kubernetes/kubelet.kubeconfig"
	}
	bootstrap := f["bootstrap-kubeconfig"]
	config := ""
	if f["config"] != "" {
		b, err := os.ReadFile(f["config"])
		if err != nil {
			return err
		}
		config = string(b)
	}
	address, _ := yamlScalar(config, "address")
	if address == "" {
		address = "127.0.0.1"
	}
	healthzAddress, _ := yamlScalar(config, "healthzBindAddress")
	if healthzAddress == "" {
		healthzAddress = address
	}
	healthzPort := 10248
	if p, _ := yamlScalar(config, "healthzPort"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("healthzPort %q: %v", p, err)
		}
		healthzPort = n
	}
	logf("TEST STAND-IN, not a kubelet: node %s, address %s, cert dir %s", node, address, certDir)
	if err := os.MkdirAll(certDir, 0o777); err != nil {
		return err
	}

	clientCert := filepath.Join(certDir, "kubelet-client-current.pem")
	if !(exists(kubeconfig) && exists(clientCert)) {
		// 1. TLS bootstrap with the token of the bootstrap kubeconfig.
		b, err := os.ReadFile(bootstrap)
		if err != nil {
			return err
		}
		text := string(b)
		server, _ := yamlScalar(text, "server")
		caB64, _ := yamlScalar(text, "certificate-authority-data")
		token, _ := yamlScalar(text, "token")
		if server == "" || caB64 == "" || token == "" {
			return fmt.Errorf("%s lacks server, certificate-authority-data or token", bootstrap)
		}
		caPEM, err := base64.StdEncoding.DecodeString(caB64)
		if err != nil {
			return fmt.Errorf("certificate-authority-data of %s: %v", bootstrap, err)
		}
		a, err := newAPI(server, caPEM, token, "")
		if err != nil {
			return err
		}
		// As the kubelet (v1.37 bootstrap.go): the kubeconfig pointing at the certificate first,
		// then the CSR; a kubelet that dies in between leaves a kubeconfig without a certificate.
		if err := writeAtomic(kubeconfig, []byte(kubeconfigText(server, caB64, clientCert))); err != nil {
			return err
		}
		key, keyPEM, err := newKey()
		if err != nil {
			return err
		}
		csr, err := csrPEM(key, "system:node:"+node, "system:nodes", nil, nil)
		if err != nil {
			return err
		}
		cert, err := requestCertificate(a, csr, "kubernetes.io/kube-apiserver-client-kubelet", []string{"digital signature", "client auth"}, "node-csr-", 120*time.Second)
		if err != nil {
			return err
		}
		if _, err := linkCurrent(certDir, "client", append(cert, keyPEM...)); err != nil {
			return err
		}
		logf("bootstrapped: wrote %s (%s points at it)", clientCert, kubeconfig)
	} else {
		logf("already bootstrapped (%s exists)", kubeconfig)
	}
	b, err := os.ReadFile(kubeconfig)
	if err != nil {
		return err
	}
	server, _ := yamlScalar(string(b), "server")
	caB64, _ := yamlScalar(string(b), "certificate-authority-data")
	caPEM, err := base64.StdEncoding.DecodeString(caB64)
	if err != nil {
		return fmt.Errorf("certificate-authority-data of %s: %v", kubeconfig, err)
	}
	a, err := newAPI(server, caPEM, "", clientCert)
	if err != nil {
		return err
	}

	// 2. The Node object, as the node.
	labels := map[string]string{"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
	created, answer, err := a.call("POST", "/api/v1/nodes", map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": node, "labels": labels}}, "application/json")
	if err != nil {
		return err
	}
	if created != 200 && created != 201 && created != 409 {
		return fmt.Errorf("register Node %s: HTTP %d %s", node, created, message(answer))
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	status := map[string]any{
		"status": map[string]any{
			"addresses": []any{map[string]any{"type": "InternalIP", "address": address}, map[string]any{"type": "Hostname", "address": node}},
			"conditions": []any{map[string]any{
				"type":               "Ready",
				"status":             "False",
				"reason":             "TsplayTestStandIn",
				"message":            "tsplay test stand-in for the kubelet: no container runtime, no pods",
				"lastHeartbeatTime":  now,
				"lastTransitionTime": now,
			}},
			"nodeInfo": map[string]any{"kubeletVersion": "tsplay-test-stand-in", "operatingSystem": "linux", "architecture": "amd64"},
		},
	}
	code, answer, err := a.call("PATCH", "/api/v1/nodes/"+node+"/status", status, "application/merge-patch+json")
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("update Node %s status: HTTP %d %s", node, code, message(answer))
	}
	how := "created"
	if created == 409 {
		how = "exists"
	}
	logf("Node %s registered (%s)", node, how)

	// 3. The serving certificate (serverTLSBootstrap), approved by tsplay's kubelet-csr role.
	serving := filepath.Join(certDir, "kubelet-server-current.pem")
	if !exists(serving) {
		key, keyPEM, err := newKey()
		if err != nil {
			return err
		}
		csr, err := csrPEM(key, "system:node:"+node, "system:nodes", []string{node}, []string{address})
		if err != nil {
			return err
		}
		cert, err := requestCertificate(a, csr, "kubernetes.io/kubelet-serving", []string{"digital signature", "server auth"}, "csr-", 900*time.Second)
		if err != nil {
			return err
		}
		if _, err := linkCurrent(certDir, "server", append(cert, keyPEM...)); err != nil {
			return err
		}
		logf("wrote serving certificate %s", serving)
	} else {
		logf("serving certificate %s exists", serving)
	}

	// 4. Stay up, with a healthz endpoint like the kubelet's.
	ln, err := net.Listen("tcp", net.JoinHostPort(healthzAddress, strconv.Itoa(healthzPort)))
	if err != nil {
		return err
	}
	go http.Serve(ln, http.HandlerFunc(healthz))
	logf("running; healthz on http://%s:%d/healthz", healthzAddress, healthzPort)
	for {
		time.Sleep(time.Hour)
	}
}

func healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "unsupported method", http.StatusNotImplemented)
		return
	}
	if r.URL.Path == "/healthz" {
		w.Write([]byte("ok"))
		return
	}
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("not found"))
}

func main() {
	if err := run(); err != nil { // systemd restarts us (Restart=always), as it would a kubelet
		logf("failed: %v", err)
		os.Exit(1)
	}
}
