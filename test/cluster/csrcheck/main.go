// csrcheck reads CertificateSigningRequest specs (a JSON array on stdin) and prints, per case,
// what the cluster's own code makes of each: the apiserver's create validation
// (pkg/apis/certificates/validation.ValidateCertificateSigningRequestCreate, which parses the
// request), the signer controller's reading and checks (pkg/apis/certificates.ParseCSR and
// ValidateKubeletServingCSR / ValidateKubeletClientCSR, as pkg/controller/certificates/signer
// calls them) and the certificate its CA would issue (pkg/controller/certificates/authority.Sign,
// with a throwaway CA). The oracle of test/unit/k8s/csr-differential.test.ts.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"time"

	capi "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/kubernetes/pkg/apis/certificates"
	"k8s.io/kubernetes/pkg/apis/certificates/validation"
	"k8s.io/kubernetes/pkg/controller/certificates/authority"
)

type input struct {
	Name              string   `json:"name"`
	Request           []byte   `json:"request"` // JSON base64, as spec.request
	SignerName        string   `json:"signerName"`
	Usages            []string `json:"usages"`
	Username          string   `json:"username"`
	Groups            []string `json:"groups"`
	ExpirationSeconds *int32   `json:"expirationSeconds,omitempty"`
}

type names struct {
	CN    string   `json:"cn"`
	O     []string `json:"o"`
	DNS   []string `json:"dns"`
	IP    []string `json:"ip"`
	Email []string `json:"email"`
	URI   []string `json:"uri"`
}

type output struct {
	Name string `json:"name"`
	// CreateError: the apiserver refuses to store it.
	CreateError string `json:"createError,omitempty"`
	// Parsed: the signer's reading of spec.request (nil when ParseCSR fails: ParseError).
	Parsed     *names `json:"parsed,omitempty"`
	ParseError string `json:"parseError,omitempty"`
	// SignerError: the signer marks it Failed instead of signing.
	SignerError string `json:"signerError,omitempty"`
	// Signed: the names of the certificate the CA issues once it is approved.
	Signed    *names `json:"signed,omitempty"`
	SignError string `json:"signError,omitempty"`
}

func namesOf(subject pkix.Name, dns []string, ips []string, emails []string, uris []string) *names {
	return &names{CN: subject.CommonName, O: subject.Organization, DNS: dns, IP: ips, Email: emails, URI: uris}
}

func crNames(cr *x509.CertificateRequest) *names {
	ips := []string{}
	for _, ip := range cr.IPAddresses {
		ips = append(ips, ip.String())
	}
	uris := []string{}
	for _, u := range cr.URIs {
		uris = append(uris, u.String())
	}
	return namesOf(cr.Subject, cr.DNSNames, ips, cr.EmailAddresses, uris)
}

func certNames(c *x509.Certificate) *names {
	ips := []string{}
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	uris := []string{}
	for _, u := range c.URIs {
		uris = append(uris, u.String())
	}
	return namesOf(c.Subject, c.DNSNames, ips, c.EmailAddresses, uris)
}

func newCA() *authority.CertificateAuthority {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "csrcheck-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return &authority.CertificateAuthority{Certificate: cert, PrivateKey: key}
}

func check(ca *authority.CertificateAuthority, in input) output {
	out := output{Name: in.Name}
	usages := []certificates.KeyUsage{}
	v1Usages := []capi.KeyUsage{}
	for _, u := range in.Usages {
		usages = append(usages, certificates.KeyUsage(u))
		v1Usages = append(v1Usages, capi.KeyUsage(u))
	}
	csr := &certificates.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: in.Name},
		Spec: certificates.CertificateSigningRequestSpec{
			Request: in.Request, SignerName: in.SignerName, Usages: usages,
			Username: in.Username, Groups: in.Groups, ExpirationSeconds: in.ExpirationSeconds,
		},
	}
	if errs := validation.ValidateCertificateSigningRequestCreate(csr); len(errs) > 0 {
		out.CreateError = errs.ToAggregate().Error()
	}
	cr, err := certificates.ParseCSR(in.Request)
	if err != nil {
		out.ParseError = err.Error()
		return out
	}
	out.Parsed = crNames(cr)
	set := sets.NewString(in.Usages...)
	switch in.SignerName {
	case capi.KubeletServingSignerName:
		err = certificates.ValidateKubeletServingCSR(cr, set)
	case capi.KubeAPIServerClientKubeletSignerName:
		err = certificates.ValidateKubeletClientCSR(cr, set)
	default:
		err = fmt.Errorf("csrcheck: signer %q is not a kubelet signer", in.SignerName)
	}
	if err != nil {
		out.SignerError = err.Error()
		return out
	}
	der, err := ca.Sign(cr.Raw, authority.PermissiveSigningPolicy{TTL: 24 * time.Hour, Usages: v1Usages, Backdate: 5 * time.Minute, Short: 8 * time.Hour})
	if err != nil {
		out.SignError = err.Error()
		return out
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		out.SignError = err.Error()
		return out
	}
	out.Signed = certNames(cert)
	return out
}

func main() {
	var ins []input
	if err := json.NewDecoder(os.Stdin).Decode(&ins); err != nil {
		fmt.Fprintln(os.Stderr, "csrcheck: reading the cases on stdin:", err)
		os.Exit(2)
	}
	ca := newCA()
	outs := make([]output, 0, len(ins))
	for _, in := range ins {
		outs = append(outs, check(ca, in))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(outs); err != nil {
		fmt.Fprintln(os.Stderr, "csrcheck:", err)
		os.Exit(1)
	}
}
