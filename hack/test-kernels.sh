#!/usr/bin/env bash
# make test-kernels: boots each kernel of the matrix under qemu (TCG: no KVM needed) with an initramfs that
# holds the agent's root tests, the strace parity workloads (with a strace of the VM's architecture) and the
# agent, runs them inside (hack/kernels/init.sh) and prints a table kernel x tests passed. The host kernel's
# row runs the same test binaries here.
#
# cgroups: in a VM the suites run on a cgroup v2 host (only the unified hierarchy mounted), then the suite
# cgroupv1 runs the cgroup tests again on a pure v1 one (hack/kernels/init.sh): the probe's ancestry filter
# (tracer, count), a whole agent session tracing a pod from its first call (agentcmd) and the agent's finding of
# pod cgroups with the host's mode detected (cgroups); the host's row runs them in whatever layout this machine
# has (hybrid here: both).
#
# Kernels come from Debian's archive, through a private apt directory (the machine's apt configuration is
# untouched); the newest package of each series is resolved at run time, downloads are kept in
# $SWOLL_CACHE/kernels, and when the archive cannot be reached the newest cached kernel of a series is used.
#   KERNELS="5.10-amd64 6.1-arm64 host"   a subset of the matrix (default: all)
#   KERNEL_SUITES="tracer,parity:/net$"     a subset of the suites, NAME or NAME:REGEXP (-test.run of a go test
#                                           suite; default below)
#   KERNEL_JOBS=2                           VMs at once (each gets one emulated CPU)
#   KERNEL_RUN=Regexp                       only these tests of the go test suites (-test.run)
#   KERNEL_FULL="5.10-amd64 6.1-amd64"      the VMs whose go test suites run every program variant of every root
#                                           test ("all": every VM; default: none); the others run with
#                                           -test.short, a representative subset that each test logs
#                                           (internal/testutil/grid). The host's row always runs the full grid.
#
# Time: under TCG each load of the probe costs seconds of emulated verifier (~3 s on 6.1 amd64, ~90% of a root
# test's time), so a VM's time is its number of loads. The full grid (every incident filter x every variant,
# the verifier's headroom for each) runs on the host; the VMs run each test in one variant, in turn, so that
# every variant still runs on each kernel, each VM from another start, so that together they run most of each
# test's variants, and the verifier's headroom in the variant that processes the most. With the full grid in
# every VM the stage takes ~30 min, ~15 without.
source "$(dirname "$0")/lib.sh"
require_root "make test-kernels"
cd "$ROOT"
export CGO_ENABLED=0 # static binaries for the initramfs
apt_install qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross busybox-static gcc libc6-dev

# name  arch  package-name regexp (the newest match is used)
MATRIX=(
  "5.10-amd64 amd64 ^linux-image-5\.10\.0-[0-9]+-cloud-amd64$"
  "6.1-amd64 amd64 ^linux-image-6\.1\.0-[0-9]+-cloud-amd64$"
  "6.12-amd64 amd64 ^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$"
  "6.1-arm64 arm64 ^linux-image-6\.1\.0-[0-9]+-arm64$"
)
# What the initramfs needs from Debian besides the kernels (bookworm's, the newest in the private lists).
USERLAND=(busybox-static strace libc6 libunwind8 liblzma5
  bash libtinfo6 bpftool libcap2 libelf1 zlib1g jq libjq1 libonig5) # the second line for hack/bench.sh
# parity's proc program is left out: in the VMs, execveat's, init_module's and finit_module's "" arguments sit
# on pages the process has not touched yet, which BPF cannot fault in (arm64, 6.1), and its execve children
# fail under the VM's strace (5.10). files and net check both architectures' tables, cred the struct decoders
# (msghdr, sockaddrs, epoll_event, rlimits, capabilities, wait statuses), iov the iovec, msghdr, epoll_wait and
# ioctl captures; proc (clone's argument order on arm64 among others) passes but for those: KERNEL_SUITES=parity
# runs it.
SUITES=${KERNEL_SUITES:-tracer,agentcmd,count,cgroups,parity:/(files|net|cred|iov|fds-y|files-Z|files-z|files-P|fds-P)$,floor,caps,cgroupv1,leftover}
JOBS=${KERNEL_JOBS:-2}
VM_TIMEOUT=${KERNEL_VM_TIMEOUT:-2400}
FULL=${KERNEL_FULL:-}
WANT=${KERNELS:-$(for m in "${MATRIX[@]}"; do set -- $m; printf '%s ' "$1"; done) host}

K=$SWOLL_CACHE/kernels
W=$OUT/kernels
mkdir -p "$K/debs" "$K/boot" "$W"
rm -f "$W"/*.log "$W"/*.result

# ---- private apt: bullseye, bookworm and bookworm-security for amd64 and arm64
A=$K/apt
APT=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts="$A/sources.list.d"
  -o Dir::Etc::PreferencesParts="$A/preferences.d" -o Dir::State::Lists="$A/lists"
  -o Dir::Cache="$A/cache" -o Dir::State::status="$A/status" -o Debug::NoLocking=1 -o APT::Sandbox::User=root
  -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 -o Acquire::Languages=none)
apt_setup() {
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/sources.list.d" "$A/preferences.d"
  touch "$A/status"
  local key=signed-by=/usr/share/keyrings/debian-archive-keyring.gpg main sec
  # The machine's own Debian mirrors, for two more suites and arm64.
  main=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  sec=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$main" ] && [ -n "$sec" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
  cat > "$A/sources.list" <<EOF
deb [arch=amd64,arm64 $key] $main bullseye main
deb [arch=amd64,arm64 $key] $main bookworm main
deb [arch=amd64,arm64 $key] $sec bookworm-security main
EOF
  # Lists younger than KERNEL_APT_MAX_AGE minutes are fresh enough (Debian's point releases are weeks apart).
  # (apt dates the lists by the archive's clock: a stamp of our own says when they were fetched.)
  if [ -n "$(find "$A/updated" -mmin -"${KERNEL_APT_MAX_AGE:-360}" 2>/dev/null)" ]; then
    return 0
  fi
  if ! nice apt-get "${APT[@]}" -qq update >"$W/apt-update.log" 2>&1; then
    log "apt-get update failed (log: $W/apt-update.log): using the cached package lists and kernels"
    return 1
  fi
  touch "$A/updated"
}

# debs ARCH PKG...: prints the paths of the newest PKG:ARCH .debs, one a line, downloading those not cached.
debs() {
  local arch=$1 pkg ver file
  shift
  declare -A vers=()
  while read -r pkg ver; do vers[$pkg]=$ver; done < <(apt-cache "${APT[@]}" show --no-all-versions \
    "${@/%/:$arch}" 2>/dev/null | awk '/^Package:/ {p = $2} /^Version:/ {print p, $2}')
  for pkg in "$@"; do
    ver=${vers[$pkg]:-}
    if [ -n "$ver" ]; then
      file=$K/debs/${pkg}_${ver//:/%3a}_$arch.deb
      if [ ! -s "$file" ]; then
        (cd "$K/debs" && nice apt-get "${APT[@]}" -qq download "$pkg:$arch=$ver") >&2 || die "downloading $pkg:$arch=$ver failed"
      fi
    else # offline: the newest cached one
      file=$(ls "$K/debs/${pkg}"_*_"$arch".deb 2>/dev/null | sort -V | tail -1)
    fi
    [ -n "$file" ] && [ -s "$file" ] || die "no $pkg for $arch in the archive or in $K/debs"
    echo "$file"
  done
}

# kernel NAME ARCH REGEXP: prints "package vmlinuz" of the newest kernel of that series (extracted once).
kernel() {
  local name=$1 arch=$2 re=$3 pkg file dir
  pkg=$(apt-cache "${APT[@]}" pkgnames linux-image- 2>/dev/null | grep -E "$re" | sort -V | tail -1 || true)
  if [ -z "$pkg" ]; then # offline
    pkg=$(ls "$K/debs" | sed -n 's/_.*_'"$arch"'\.deb$//p' | grep -E "$re" | sort -V | tail -1 || true)
  fi
  [ -n "$pkg" ] || die "kernel $name: no package matches $re"
  file=$(debs "$arch" "$pkg")
  dir=$K/boot/$(basename "$file" .deb)
  if [ ! -d "$dir" ]; then # only the kernel image, not the ~150 MB of modules
    rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
    dpkg-deb --fsys-tarfile "$file" | tar -C "$dir.tmp" -x --wildcards './boot/vmlinuz-*'
    mv "$dir.tmp" "$dir"
  fi
  echo "$(basename "$file" .deb) $(ls "$dir"/boot/vmlinuz-*)"
}

# inputs_key ARCH: names the sources of an initramfs (the Go and C code it holds, this script, the userland
# packages), so that an unchanged one is not built again.
INPUTS=(go.mod go.sum bpf cmd/swoll-agent event internal nodeagent protocol syscalls test/parity test/bench hack/kernels
  hack/test-kernels.sh hack/bench.sh hack/lib.sh)
inputs_key() {
  { echo "$1 $(go env GOVERSION)"; git ls-files -s -- "${INPUTS[@]}"; git diff HEAD -- "${INPUTS[@]}"
    git ls-files -o --exclude-standard -- "${INPUTS[@]}" | xargs -r sha256sum
    debs "$1" "${USERLAND[@]}"; } | sha256sum | cut -c1-16
}

# initramfs ARCH: builds $W/initramfs-ARCH.cpio.gz: busybox, strace and its libraries, the test binaries.
initramfs() {
  local arch=$1 key
  key=$(inputs_key "$arch")
  local c=$K/build-$arch-$key # initramfs.cpio.gz and bin/ (the host's row runs those binaries too)
  if [ ! -s "$c/initramfs.cpio.gz" ]; then
    # earlier inputs' builds, once a day old (a younger one may be another checkout's run, under way)
    find "$K" -maxdepth 1 -name "build-$arch-*" -mmin +1440 -exec rm -rf {} +
    build_initramfs "$arch" "$c.tmp"
    mv "$c.tmp" "$c"
  fi
  rm -rf "$W/initramfs-$arch.cpio.gz" "$W/bin-$arch"
  ln -sfn "$c/initramfs.cpio.gz" "$W/initramfs-$arch.cpio.gz"
  ln -sfn "$c/bin" "$W/bin-$arch"
}

# build_initramfs ARCH DIR: builds DIR/initramfs.cpio.gz and DIR/bin.
build_initramfs() {
  local arch=$1 c=$2 cc=gcc d p r
  rm -rf "$c"; mkdir -p "$c"
  r=$W/root-$arch
  [ "$arch" = arm64 ] && cc=aarch64-linux-gnu-gcc
  rm -rf "$r"; mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,swoll}
  for d in $(debs "$arch" "${USERLAND[@]}"); do
    dpkg-deb -x "$d" "$r"
  done
  # Only what busybox, strace and the dynamic loader use.
  rm -rf "$r"/usr/share "$r"/usr/lib/*/gconv "$r"/usr/libexec "$r"/usr/lib/*/audit "$r"/etc/ld.so.conf.d "$r"/sbin/ldconfig
  [ -f "$r/bin/busybox" ] || mv "$r/usr/bin/busybox" "$r/bin/busybox"
  cp hack/kernels/init.sh "$r/init"
  chmod 755 "$r/init"
  mknod -m 600 "$r/dev/console" c 5 1
  local b=$c/bin
  mkdir -p "$b"
  GOARCH=$arch go test -c -o "$b/tracer.test" ./nodeagent/tracer
  GOARCH=$arch go test -c -o "$b/agentcmd.test" ./nodeagent/agentcmd
  GOARCH=$arch go test -c -o "$b/count.test" ./nodeagent/countprobe
  GOARCH=$arch go test -c -o "$b/cgroups.test" ./nodeagent/cgroups
  GOARCH=$arch go test -c -o "$b/parity.test" ./test/parity
  GOARCH=$arch go build -o "$b/swoll-agent" ./cmd/swoll-agent
  GOARCH=$arch go build -o "$b/vmcheck" ./hack/kernels/vmcheck
  for p in files net proc fs mem cred iov sweep fds; do
    "$cc" -O0 -static -pthread -Wall -o "$b/$p" "test/parity/testdata/$p.c"
  done
  # the C workload of agentcmd's stack tests (trace -k), with frame pointers
  "$cc" -O1 -fno-omit-frame-pointer -static -Wall -o "$b/stackprog" nodeagent/agentcmd/testdata/stackprog.c
  # hack/bench.sh with BENCH_PREBUILT=/swoll
  GOARCH=$arch go build -o "$b/emptyprobe" ./test/bench/emptyprobe
  "$cc" -O2 -static -Wall -o "$b/syscall-loop" test/bench/syscall-loop.c
  for p in getppid openat close; do
    echo "$p=$(printf '#include <sys/syscall.h>\nSYS_%s\n' "$p" | "$cc" -E -P - | tail -1)"
  done > "$b/sysnr"
  cp "$b"/* "$r/swoll/"
  mkdir -p "$r/swoll/hack" "$r/swoll/bin"
  cp hack/bench.sh hack/lib.sh "$r/swoll/hack/"
  ln -s ../swoll-agent "$r/swoll/bin/swoll-agent"
  (cd "$r" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) > "$c/initramfs.cpio.gz"
  rm -rf "$r"
}

# boot NAME ARCH VMLINUZ N: runs the suites in a VM (the Nth); the console goes to $W/NAME.log.
boot() {
  local name=$1 arch=$2 kern=$3 log=$W/$1.log cmd
  local append="quiet panic=-1 swoll.suites=$SUITES${KERNEL_RUN:+ swoll.run=$KERNEL_RUN}" v
  # -test.short, each VM's rotation of variants from another start (internal/testutil/grid)
  [[ " $FULL " == *" $name "* || " $FULL " == *" all "* ]] || append+=" swoll.short=$4"
  # The bench suite's sizes, when set (the kernel hands NAME=VALUE parameters it does not know to init's environment).
  for v in BENCH_RUNS BENCH_GETPPID_N BENCH_OPENAT_N; do [ -z "${!v:-}" ] || append+=" $v=${!v}"; done
  if [ "$arch" = amd64 ]; then
    cmd=(qemu-system-x86_64 -accel tcg -cpu max -m 1536 -smp 1 -nographic -no-reboot -nic none
      -kernel "$kern" -initrd "$W/initramfs-amd64.cpio.gz" -append "console=ttyS0 no_timer_check $append")
  else
    cmd=(qemu-system-aarch64 -M virt -accel tcg -cpu max,pauth-impdef=on -m 1536 -smp 1 -nographic -no-reboot
      -nic none -kernel "$kern" -initrd "$W/initramfs-arm64.cpio.gz" -append "console=ttyAMA0 $append")
  fi
  # A bench VM's one emulated CPU runs ahead of the host's other work (its figures follow what else runs here).
  [[ ",$SUITES," != *,bench,* ]] || cmd=(nice -n "${KERNEL_BENCH_NICE:--10}" "${cmd[@]}")
  local start=$SECONDS load0
  load0=$(cut -d' ' -f1 /proc/loadavg)
  timeout "$VM_TIMEOUT" "${cmd[@]}" </dev/null >"$log" 2>&1 || true
  echo "secs=$((SECONDS - start))" > "$W/$name.result"
  # The host's load (the VM's own load average counts its one CPU): TCG's speed follows what else runs here.
  echo "$load0 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end" > "$W/$name.load"
}

# host: the same test binaries on this machine's kernel, in the same format as the VMs' console.
host_run() {
  local log=$W/host.log start=$SECONDS b=$W/bin-amd64
  (
    export SWOLL_REQUIRE_ROOT=1 SWOLL_PARITY_PREBUILT=$b
    echo "SWOLL-KERNEL release=$(uname -r) arch=$(uname -m) features=$("$b/vmcheck" features 2>&1)"
    for spec in ${SUITES//,/ }; do
      local s=${spec%%:*} filter=${KERNEL_RUN:-}
      [ "$s" != "$spec" ] && filter=${spec#*:}
      case $s in
        tracer | agentcmd | count | cgroups | parity)
          local t0=$SECONDS rc=0
          (cd "$b" && "./$s.test" -test.v -test.count=1 -test.timeout=20m ${filter:+"-test.run=$filter"}) > "$W/host-$s.log" 2>&1 || rc=$?
          sed "s/^/[$s] /" "$W/host-$s.log"
          echo "SWOLL-SUITE name=$s rc=$rc pass=$(grep -c -- '^ *--- PASS' "$W/host-$s.log") fail=$(grep -c -- '^ *--- FAIL' "$W/host-$s.log") skip=$(grep -c -- '^ *--- SKIP' "$W/host-$s.log") secs=$((SECONDS - t0))" ;;
      esac
    done
    echo SWOLL-DONE
  ) > "$log" 2>&1
  echo "secs=$((SECONDS - start))" > "$W/host.result"
}

# ---- resolve and fetch, build, boot
t0=$SECONDS
apt_setup || true
declare -A ARCH_OF KERN_OF PKG_OF
archs=()
for m in "${MATRIX[@]}"; do
  set -- $m
  [[ " $WANT " == *" $1 "* ]] || continue
  read -r pkg kern < <(kernel "$1" "$2" "$3")
  ARCH_OF[$1]=$2; KERN_OF[$1]=$kern; PKG_OF[$1]=$pkg
  [[ " ${archs[*]} " == *" $2 "* ]] || archs+=("$2")
done
[[ " $WANT " == *" host "* ]] && { [[ " ${archs[*]} " == *" amd64 "* ]] || archs+=(amd64); }
log "kernels resolved in $((SECONDS - t0))s: $(for n in "${!PKG_OF[@]}"; do printf '%s ' "${PKG_OF[$n]}"; done)"
t1=$SECONDS
for a in "${archs[@]}"; do initramfs "$a"; done
log "initramfs built in $((SECONDS - t1))s ($(cd "$W" && du -hL initramfs-*.cpio.gz | tr '\n\t' '  '))"

t2=$SECONDS
running=0 vm=0
# arm64's first: its emulation is the slowest (~1.5 times amd64's), and the last VM to start ends the stage.
order=()
for m in "${MATRIX[@]}"; do if [[ $m == *" arm64 "* ]]; then order+=("$m"); fi; done
for m in "${MATRIX[@]}"; do if [[ $m != *" arm64 "* ]]; then order+=("$m"); fi; done
for m in "${order[@]}"; do
  set -- $m
  [ -n "${KERN_OF[$1]:-}" ] || continue
  boot "$1" "${ARCH_OF[$1]}" "${KERN_OF[$1]}" "$vm" &
  vm=$((vm + 1))
  running=$((running + 1))
  if [ $running -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait
# The host's row last: the VMs' emulation would slow it down, and its tests load BPF on this machine.
[[ " $WANT " == *" host "* ]] && host_run
log "tests ran in $((SECONDS - t2))s"

# ---- the table
status=0
printf '\n%-34s %-6s %-28s' kernel arch features
NAMES=$(for s in ${SUITES//,/ }; do printf '%s ' "${s%%:*}"; done)
for s in $NAMES; do printf ' %-10s' "$s"; done
printf ' %6s\n' secs
for name in $WANT; do
  log=$W/$name.log
  if [ ! -f "$log" ]; then continue; fi
  rel=$(grep -a -o 'SWOLL-KERNEL release=[^ ]*' "$log" | head -1 | cut -d= -f2 || true)
  arch=$(grep -a -o 'SWOLL-KERNEL release=[^ ]* arch=[^ ]*' "$log" | head -1 | sed 's/.*arch=//' || true)
  feats=$(grep -a -o 'features=[^ ]*' "$log" | head -1 | cut -d= -f2 | tr -d '\r' || true)
  printf '%-34s %-6s %-28s' "${rel:-$name (no boot)}" "${arch:--}" "${feats:--}"
  for s in $NAMES; do
    line=$(grep -a "SWOLL-SUITE name=$s " "$log" | tr -d '\r' | tail -1 || true)
    if [ "$name" = host ] && [[ " floor caps cgroupv1 leftover bench " == *" $s "* ]]; then printf ' %-10s' "n/a"; continue; fi
    if [ -z "$line" ]; then printf ' %-10s' "missing"; status=1; continue; fi
    pass=$(sed 's/.* pass=\([0-9]*\).*/\1/' <<<"$line"); fail=$(sed 's/.* fail=\([0-9]*\).*/\1/' <<<"$line")
    rc=$(sed 's/.* rc=\([0-9]*\).*/\1/' <<<"$line")
    cell="$pass/$((pass + fail))"
    if [ "$rc" != 0 ] || [ "$fail" != 0 ]; then cell="FAIL:$cell"; status=1; fi
    printf ' %-10s' "$cell"
  done
  printf ' %6s\n' "$(cut -d= -f2 "$W/$name.result" 2>/dev/null || echo -)"
  grep -aq SWOLL-DONE "$log" || { echo "  $name: the VM did not finish (console: $log)"; status=1; }
done
short=$(for name in $WANT; do [ -f "$W/$name.log" ] && [ "$name" != host ] &&
  [[ " $FULL " != *" $name "* && " $FULL " != *" all "* ]] && printf ' %s' "$name"; done || true)
[ -z "$short" ] || echo "representative grids (-test.short, KERNEL_FULL=\"$FULL\" runs the full ones):$short"
# The bench tables (KERNEL_SUITES=bench).
for name in $WANT; do
  grep -a '^\[bench\] ' "$W/$name.log" 2>/dev/null | tr -d '\r' | grep -av '^\[bench\] \[' | sed "s/^\[bench\]/$name:/" || true
  if [[ ",$SUITES," == *,bench,* ]] && [ -f "$W/$name.load" ]; then echo "$name: host load average $(cat "$W/$name.load")"; fi
done
# What each kernel needs in privileges (for the agent's pod spec).
for name in $WANT; do
  grep -a '^\[caps\] caps ' "$W/$name.log" 2>/dev/null | tr -d '\r' | sed "s/^\[caps\] caps /  $name: /" || true
done
echo
echo "console logs: $W/*.log; stage took $((SECONDS - t0))s"
[ $status -eq 0 ] || die "kernel matrix failed"
