// Pins the Security Profiles Operator whose SeccompProfile CRD the e2e tests install, to validate what
// `kubectl swoll advise seccomp -o spo` writes (kubectl apply --dry-run=server). No code: hack/seccomp/generate.sh
// copies the CRD from this version's module files. Move the version here and rerun the script.
module github.com/swoll-dev/swoll/hack/seccomp/spo

go 1.24.0

require sigs.k8s.io/security-profiles-operator v1.0.0
