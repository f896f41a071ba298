// Package e2e drives the built kubectl-swoll binary against the real local two-node cluster
// (hack/e2e/cluster-up.sh). The tests carry the build tag "e2e" so that `go test ./...` leaves them out;
// `make e2e` (hack/e2e/run.sh) builds everything, brings the cluster up and runs them.
package e2e
