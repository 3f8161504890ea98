// Command etcd serves a single-member etcd for tsplay's test control plane.
//
// The upstream etcd binary is a GitHub release download, which this build cannot
// fetch; embedding the server module gives the same server from the Go module proxy,
// at the version kube-apiserver's client was built against.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dataDir := flag.String("data-dir", "", "data directory (required)")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	clientPort := flag.Int("client-port", 2379, "client port")
	peerPort := flag.Int("peer-port", 2380, "peer port")
	// Test clusters are throwaway; fsync dominates write latency on small disks.
	noFsync := flag.Bool("unsafe-no-fsync", true, "disable fsync")
	logLevel := flag.String("log-level", "warn", "log level")
	flag.Parse()
	if *dataDir == "" {
		log.Fatal("--data-dir is required")
	}

	cu, _ := url.Parse(fmt.Sprintf("http://%s:%d", *host, *clientPort))
	pu, _ := url.Parse(fmt.Sprintf("http://%s:%d", *host, *peerPort))

	cfg := embed.NewConfig()
	cfg.Name = "tsplay-test"
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = *noFsync
	cfg.LogLevel = *logLevel
	cfg.LogOutputs = []string{"stderr"}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("start etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		fmt.Printf("etcd ready on %s\n", cu)
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		log.Fatal("etcd took too long to become ready")
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		fmt.Printf("etcd stopping on %s\n", s)
		e.Close()
	case err := <-e.Err():
		log.Fatalf("etcd: %v", err)
	}
}
