#!/usr/bin/env bash
# Everything a fresh machine of this kind lacks to build, test and run swoll locally: Debian packages for the
# BPF toolchain, the local cluster, the kernel matrix (qemu), the benchmarks, and the metrics tests' tools
# (promtool and a Prometheus server, headless Chromium for the chart page, tmux for `top`). Go tools are built
# on demand into $SWOLL_CACHE.
source "$(dirname "$0")/lib.sh"
apt_install clang-14 llvm-14 libbpf-dev bpftool \
  containerd runc etcd-server containernetworking-plugins busybox-static openssl curl iproute2 iptables \
  strace bpftrace gcc g++ libc6-dev binutils xz-utils \
  qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
  docker-registry \
  prometheus chromium fonts-dejavu-core tmux
