#!/usr/bin/env bash
# Builds the test workload images with hack/mkimage (no Docker, no registry) and prints the directory holding
# their tarballs on stdout. The tarballs are cached in $SWOLL_CACHE/images, keyed by a hash of every input, so a
# second run (or a clean clone) builds nothing; copies land in _output/images. hack/e2e/cluster-up.sh imports
# them into every node.
#
#   localhost/swoll-e2e/pause:v1      sandbox image (test/workloads/pause)
#   localhost/swoll-e2e/busybox:v1    busybox only (/bin/sh, cat, sleep, wget, ...)
#   localhost/swoll-e2e/webserver:v1  test/workloads/webserver on :8080 (+ busybox); every request opens a file
source "$(dirname "$0")/lib-cluster.sh"
cd "$ROOT"
apt_install busybox-static

BUSYBOX=/bin/busybox
APPLETS=(sh ash cat sleep wget ls echo grep ps kill head tail env id readlink stat mount umount true false test
  mkdir rm touch wc nc date hostname uname find sed awk tr cut ln cp mv chmod dd timeout printf seq xargs tee
  sort uniq which pidof nsenter ip netstat nslookup sync usleep)

inputs=$(
  {
    go env GOVERSION
    sha256sum "$BUSYBOX" hack/e2e/workload-images.sh go.mod go.sum
    git ls-files -co --exclude-standard -- hack/mkimage test/workloads | sort | xargs sha256sum
  } | sha256sum | cut -c1-16
)
dir=$IMAGE_CACHE/workloads-$inputs
# publish DIR: also offers the tarballs where `make images` users look for them.
publish() {
  mkdir -p "$OUT/images"
  for i in "${WORKLOAD_IMAGES[@]}"; do ln -f "$1/$i.tar" "$OUT/images/$i.tar" 2>/dev/null || cp "$1/$i.tar" "$OUT/images/"; done
  echo "$1"
}
if [ -f "$dir/done" ]; then
  touch "$dir/done" # last use, for pruning
  publish "$dir"
  exit 0
fi

log "building workload images into $dir"
tmp=$(mktemp -d "$IMAGE_CACHE.tmp.XXXX" 2>/dev/null || { mkdir -p "$IMAGE_CACHE" && mktemp -d "$IMAGE_CACHE.tmp.XXXX"; })
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 GOOS=linux go build -ldflags='-s -w' -o "$tmp/" ./hack/mkimage ./test/workloads/pause ./test/workloads/webserver
links=()
for a in "${APPLETS[@]}"; do links+=(-link "/bin/$a=busybox"); done

"$tmp/mkimage" -o "$tmp/pause.tar" -t "$(image_ref pause)" -entrypoint /pause "/pause=$tmp/pause"
"$tmp/mkimage" -o "$tmp/busybox.tar" -t "$(image_ref busybox)" -entrypoint /bin/sh "${links[@]}" "/bin/busybox=$BUSYBOX"
"$tmp/mkimage" -o "$tmp/webserver.tar" -t "$(image_ref webserver)" -entrypoint /bin/webserver "${links[@]}" \
  "/bin/busybox=$BUSYBOX" "/bin/webserver=$tmp/webserver" "/srv/index.html=test/workloads/webserver/index.html"

mkdir -p "$dir"
mv "$tmp"/{pause,busybox,webserver}.tar "$dir/"
touch "$dir/done"
# Keys unused for two days are stale (other checkouts may still use recent ones): keep the cache from growing with
# every change to the workloads.
find "$IMAGE_CACHE" -mindepth 2 -maxdepth 2 -path '*/workloads-*/done' -mtime +2 -printf '%h\n' | xargs -r rm -rf
publish "$dir"
