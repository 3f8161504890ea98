// fake-cri: the CRI fake of k8s.io/cri-client (in memory; it runs no containers) served on a unix
// socket, so that an upstream kubelet gets past its runtime checks on the test hosts. Only for
// the experiment in test/e2e/README.md ("Upstream kubelet"); no test uses it.
//
//	fake-cri /run/containerd/containerd.sock
package main

import (
	"fmt"
	"os"

	fake "k8s.io/cri-client/pkg/fake"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fake-cri SOCKET")
		os.Exit(2)
	}
	f := fake.NewFakeRemoteRuntime()
	if err := f.Start("unix://" + os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	select {}
}
