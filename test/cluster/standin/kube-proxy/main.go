// TEST STAND-IN FOR KUBE-PROXY. NOT KUBE-PROXY: it programs no IPVS or iptables rules.
//
// test/cluster/build.sh builds it (static, CGO_ENABLED=0) as <cache>/k8s/<version>/standin-kube-proxy;
// the local test inventory (test/e2e/local-cluster.ts) sets kube_proxy_binary_src to that file,
// so the kube-proxy role copies it to /opt/k8s/bin/kube-proxy and systemd starts it from the unit
// tsplay wrote. With exactly the files tsplay put on the node it checks what kube-proxy would need
// first: --config (kube-proxy-config.yaml) names a kubeconfig whose server, CA and client
// certificate (CN system:kube-proxy) authenticate, and RBAC lets that user read its Node
// (system:node-proxier). Then it stays up, answering http://<healthzBindAddress>/healthz. On any
// failure it exits 1, and systemd (Restart=on-failure) starts it again. Go standard library only.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func logf(format string, a ...any) {
	fmt.Println("kube-proxy stand-in: " + fmt.Sprintf(format, a...))
}

var flagRe = regexp.MustCompile(`^--([^=]+)=(.*)$`)

// yamlScalar: a top-level-ish `key: value` of the simple YAML tsplay writes.
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

func orNone(s string, ok bool) string {
	if !ok {
		return "None"
	}
	return s
}

func b64Field(text, key, file string) ([]byte, error) {
	v, ok := yamlScalar(text, key)
	if !ok {
		return nil, fmt.Errorf("%s has no %s", file, key)
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %v", key, file, err)
	}
	return b, nil
}

func run() error {
	args := map[string]string{}
	for _, a := range os.Args[1:] {
		if m := flagRe.FindStringSubmatch(a); m != nil {
			args[m[1]] = m[2]
		}
	}
	configFile, ok := args["config"]
	if !ok {
		return errors.New("no --config")
	}
	b, err := os.ReadFile(configFile)
	if err != nil {
		return err
	}
	config := string(b)
	kubeconfig, kcOK := yamlScalar(config, "kubeconfig")
	node, _ := yamlScalar(config, "hostnameOverride")
	if node == "" {
		if node, err = os.Hostname(); err != nil {
			return err
		}
	}
	healthz, _ := yamlScalar(config, "healthzBindAddress")
	if healthz == "" {
		healthz = "0.0.0.0:10256"
	}
	logf("TEST STAND-IN, not kube-proxy: node %s, kubeconfig %s, mode %s", node, orNone(kubeconfig, kcOK), orNone(yamlScalar(config, "mode")))
	if !kcOK {
		return fmt.Errorf("%s names no kubeconfig", configFile)
	}
	b, err = os.ReadFile(kubeconfig)
	if err != nil {
		return err
	}
	kc := string(b)
	server, _ := yamlScalar(kc, "server")
	ca, err := b64Field(kc, "certificate-authority-data", kubeconfig)
	if err != nil {
		return err
	}
	cert, err := b64Field(kc, "client-certificate-data", kubeconfig)
	if err != nil {
		return err
	}
	key, err := b64Field(kc, "client-key-data", kubeconfig)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return fmt.Errorf("no CA certificate in certificate-authority-data of %s", kubeconfig)
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}}}
	req, err := http.NewRequest("GET", strings.TrimRight(server, "/")+"/api/v1/nodes/"+node, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode >= 400 {
		text := []rune(strings.ToValidUTF8(string(body), "\uFFFD"))
		if len(text) > 300 {
			text = text[:300]
		}
		return fmt.Errorf("GET Node %s as the kubeconfig's user: HTTP %d %s", node, res.StatusCode, string(text))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("GET Node %s: HTTP %d, not JSON: %v", node, res.StatusCode, err)
	}
	logf("the kubeconfig authenticates and may read Node %s", node)

	host, port := "", healthz
	if i := strings.LastIndex(healthz, ":"); i >= 0 {
		host, port = healthz[:i], healthz[i+1:]
	}
	if host == "" {
		host = "0.0.0.0"
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("healthzBindAddress %q: %v", healthz, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
	if err != nil {
		return err
	}
	go http.Serve(ln, http.HandlerFunc(serveHealthz))
	logf("running; healthz on http://%s/healthz", healthz)
	for {
		time.Sleep(time.Hour)
	}
}

func serveHealthz(w http.ResponseWriter, r *http.Request) {
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
	if err := run(); err != nil {
		logf("failed: %v", err)
		os.Exit(1)
	}
}
