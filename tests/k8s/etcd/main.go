// etcd 3.5 for the Kubernetes suite's control plane, built from etcd's own Go module (tests/k8s/support/tools.sh
// says why 3.4 is not enough).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
