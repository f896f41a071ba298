// Package bpf holds swoll's kernel programs and what user space needs to load them: probe.c (the tracer) and
// count.c (counting mode), built on one core of headers (common.h lists them), compiled by hack/generate.sh with
// bpf2go for amd64 and arm64; the generated loaders; the table of each program's variants with the choice of
// one variant for the running kernel's features (variants.go), which nodeagent/tracer and nodeagent/countprobe
// both use; the set-up of the incident filters and -y for both objects (callfilter.go: CallFilter); and where
// an object's system call programs attach for a selection (attach.go: the raw sys_enter and sys_exit
// tracepoints, or each selected call's own tracepoints).
package bpf
