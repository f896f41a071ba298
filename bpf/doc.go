// Package bpf holds swoll's kernel probe: probe.c (CO-RE, compiled by hack/generate.sh with bpf2go for amd64
// and arm64) and the generated loaders. Only nodeagent/tracer uses it.
package bpf
