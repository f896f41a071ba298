#!/bin/busybox sh
# /init of the initramfs that hack/test-kernels.sh boots under qemu: mounts what the tests need, runs the
# suites named on the kernel command line (swoll.suites=tracer,agentcmd,count,cgroups,parity,floor,caps,cgroupv1,leftover,bench)
# and powers off (a go test suite may be given as NAME:REGEXP, its -test.run). With swoll.short=N the go test
# suites run with -test.short: the root tests' grids of program variants shrink to a representative subset
# (internal/testutil/grid; N offsets its rotation), and each test logs what it left out. Each suite ends with
# one line the host parses:
#   SWOLL-SUITE name=NAME rc=N pass=N fail=N skip=N secs=N
# cgroups: the suites run on a cgroup v2 host (only the unified hierarchy is mounted, at /sys/fs/cgroup), then
# cgroupv1 runs the cgroup tests again on a pure v1 one (the unified hierarchy unmounted, a controller's v1
# hierarchy mounted instead; the tests never enable a controller in the unified one, so it can move).
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
hostname swoll-vm
echo swoll-vm > /etc/hostname
echo "SWOLL-KERNEL release=$(uname -r) arch=$(uname -m) features=$(/swoll/vmcheck features 2>&1)"

suites=$(sed -n 's/.*swoll\.suites=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
run=$(sed -n 's/.*swoll\.run=\([^ ]*\).*/\1/p' /proc/cmdline) # -test.run of the go test suites
# swoll.short=N: -test.short, the variants' rotation starting at N (internal/testutil/grid)
offset=$(sed -n 's/.*swoll\.short=\([0-9]*\).*/\1/p' /proc/cmdline)
short=${offset:+-test.short}
export SWOLL_GRID_OFFSET=${offset:-0}
export SWOLL_REQUIRE_ROOT=1 SWOLL_PARITY_PREBUILT=/swoll HOME=/tmp SWOLL_CGROUPS=unified

# gotest NAME BINARY: a go test binary, verbose; counts the verdicts of tests and subtests.
gotest() {
  name=$1; bin=$2; shift 2
  start=$(date +%s)
  (cd /swoll && "$bin" -test.v -test.count=1 -test.timeout=20m $short ${run:+-test.run=$run} "$@") > /tmp/$name.log 2>&1
  rc=$?
  sed "s/^/[$name] /" /tmp/$name.log
  echo "SWOLL-SUITE name=$name rc=$rc pass=$(grep -c -- '^ *--- PASS' /tmp/$name.log) fail=$(grep -c -- '^ *--- FAIL' /tmp/$name.log) skip=$(grep -c -- '^ *--- SKIP' /tmp/$name.log) secs=$(( $(date +%s) - start ))"
}

# floor: with the kernel's BTF hidden, the agent exits non-zero with one line that names what is missing.
floor() {
  start=$(date +%s)
  mount -t tmpfs nobtf /sys/kernel/btf
  /swoll/swoll-agent trace --no-containers --duration 2s > /dev/null 2> /tmp/floor.err
  rc=$?
  umount /sys/kernel/btf
  echo "[floor] exit $rc: $(cat /tmp/floor.err)"
  pass=0
  if [ $rc -ne 0 ] && [ "$(wc -l < /tmp/floor.err)" -eq 1 ] && grep -q BTF /tmp/floor.err; then pass=1; fi
  echo "SWOLL-SUITE name=floor rc=$((1 - pass)) pass=$pass fail=$((1 - pass)) skip=0 secs=$(( $(date +%s) - start ))"
}

# cgroupv1 [REGEXP]: the cgroup tests (-test.run, default cgroupTests) on a pure cgroup v1 host: the unified
# hierarchy unmounted, a controller's v1 hierarchy mounted (memory's; pids' where the kernel has no v1 memory
# controller, as 6.12 builds by default; internal/cgrouptest). The tracer's and counting mode's ancestry filter,
# an agent session that traces a pod from its first call (agentcmd), and the agent's cgroup watcher, attributor
# and mode detection (cgroups: Detect must say v1).
cgroupTests='Cgroup|FirstCall|^TestRoot'

cgroupv1() {
  start=$(date +%s)
  rc=0 ctl=
  : > /tmp/cgroupv1.log
  umount /sys/fs/cgroup >> /tmp/cgroupv1.log 2>&1 && mount -t tmpfs cgroup /sys/fs/cgroup >> /tmp/cgroupv1.log 2>&1
  for c in memory pids; do
    mkdir -p /sys/fs/cgroup/$c
    if mount -t cgroup -o $c $c /sys/fs/cgroup/$c >> /tmp/cgroupv1.log 2>&1; then ctl=$c; break; fi
  done
  if [ -z "$ctl" ]; then
    echo "mounting a v1 hierarchy failed" >> /tmp/cgroupv1.log
    rc=1
  fi
  echo "the v1 $ctl hierarchy" >> /tmp/cgroupv1.log
  for b in tracer count agentcmd cgroups; do
    [ $rc -eq 0 ] || break
    (cd /swoll && SWOLL_CGROUPS=$ctl "./$b.test" -test.v -test.count=1 -test.timeout=20m $short -test.run="${1:-$cgroupTests}") \
      >> /tmp/cgroupv1.log 2>&1 || rc=1
  done
  sed "s/^/[cgroupv1] /" /tmp/cgroupv1.log
  echo "SWOLL-SUITE name=cgroupv1 rc=$rc pass=$(grep -c -- '^ *--- PASS' /tmp/cgroupv1.log) fail=$(grep -c -- '^ *--- FAIL' /tmp/cgroupv1.log) skip=$(grep -c -- '^ *--- SKIP' /tmp/cgroupv1.log) secs=$(( $(date +%s) - start ))"
}

# leftover: after everything, no BPF program or map is loaded.
leftover() {
  out=$(/swoll/vmcheck leftover 2>&1); rc=$?
  echo "[leftover] $out"
  echo "SWOLL-SUITE name=leftover rc=$rc pass=$((rc == 0)) fail=$((rc != 0)) skip=0 secs=0"
}

# caps: which capability sets load the tracer on this kernel (information for the agent's pod spec; passes
# when at least the full set works).
caps() {
  start=$(date +%s)
  /swoll/vmcheck caps > /tmp/caps.log 2>&1
  sed "s/^/[caps] /" /tmp/caps.log
  pass=0
  grep -q 'CAP_SYS_ADMIN,CAP_SYS_RESOURCE inherited-memlock: ok' /tmp/caps.log && pass=1
  echo "SWOLL-SUITE name=caps rc=$((1 - pass)) pass=$pass fail=$((1 - pass)) skip=0 secs=$(( $(date +%s) - start ))"
}

# bench: the syscall overhead table of hack/bench.sh on this kernel, with the probe the kernel gets and, where it
# has task storage or bpf_loop, once more with the fallbacks of older kernels (SWOLL_PROBE_WITHOUT). Under
# emulation absolute times mean nothing; ratios within one table still compare the code paths. Sized for ~4
# minutes per table under TCG, where starting an agent alone takes ~10 s (loops 3x longer cost ~1.5 min more a
# table and were no steadier on a loaded host): BENCH_RUNS, BENCH_GETPPID_N and
# BENCH_OPENAT_N come from the host (hack/test-kernels.sh puts them on the kernel command line, which passes
# them to init's environment). Output is streamed, so a VM that times out still shows the tables it finished.
bench() {
  start=$(date +%s)
  rm -f /tmp/bench.failed
  feats=$(/swoll/vmcheck features 2>&1)
  echo "[bench] sustained rate not run: in the VM one emulated CPU runs both the paced loop and the agent"
  for without in "" task_storage,bpf_loop; do
    [ -n "$without" ] && [ "$feats" = none ] && continue # the fallbacks are what this kernel gets anyway
    t0=$(date +%s)
    echo "[bench] probe: ${without:+without }${without:-what the kernel has ($feats)}"
    { SWOLL_PROBE_WITHOUT=$without BENCH_PREBUILT=/swoll BENCH_KEEP_GOING=1 BENCH_TARGETS=0 BENCH_SECS=0 \
        BENCH_RUNS=${BENCH_RUNS:-2} BENCH_GETPPID_N=${BENCH_GETPPID_N:-300000} BENCH_OPENAT_N=${BENCH_OPENAT_N:-20000} \
        bash /swoll/hack/bench.sh || touch /tmp/bench.failed; } 2>&1 | while IFS= read -r line; do echo "[bench] $line"; done
    echo "[bench] (this table took $(( $(date +%s) - t0 )) s)"
  done
  rc=0
  [ -e /tmp/bench.failed ] && rc=1
  echo "SWOLL-SUITE name=bench rc=$rc pass=$((rc == 0)) fail=$((rc != 0)) skip=0 secs=$(( $(date +%s) - start ))"
}

for spec in $suites; do
  s=${spec%%:*}
  # NAME:REGEXP runs only those tests of a go test suite.
  filter=$run
  [ "$s" != "$spec" ] && filter=${spec#*:}
  case $s in
    tracer | agentcmd | count | cgroups | parity) run=$filter gotest "$s" "/swoll/$s.test" ;;
    cgroupv1) if [ "$s" != "$spec" ]; then cgroupv1 "${spec#*:}"; else cgroupv1; fi ;;
    floor) floor ;;
    leftover) leftover ;;
    load) /swoll/vmcheck load ;;
    caps) caps ;;
    bench) bench ;;
    *) echo "SWOLL-SUITE name=$s rc=1 pass=0 fail=1 skip=0 secs=0 (unknown suite)" ;;
  esac
done
echo "SWOLL-DONE"
poweroff -f
