// Package deploy holds the systemd units, Kubernetes manifests and
// Dockerfile that ship condeco-visitor-sync. The Go code here is only the
// test that keeps those files decodable and hardened, so a typo in a
// manifest fails `go test` instead of a night's sync.
package deploy
