# Shared by the bench scripts: a busybox-static bundle, and the cell binary.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cell=${CELL:-$top/build/cell}

need() {
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "bench: $c is missing (scripts/setup installs it)"; exit 2; }
	done
}

# make_bundle DIR ARGS_JSON: rootfs from /bin/busybox, config from `cell spec`.
make_bundle() {
	local b=$1 args=$2
	mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
	cp /bin/busybox "$b/rootfs/bin/"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$b/rootfs/bin/$a"; done
	(cd "$b" && "$cell" spec)
	python3 - "$b/config.json" "$args" <<'PY'
import json, sys
p, args = sys.argv[1], json.loads(sys.argv[2])
c = json.load(open(p))
c["process"]["terminal"] = False
# crun 1.8 (Debian 12) knows runtime-spec versions up to 1.0.x only.
c["ociVersion"] = "1.0.2"
c["process"]["args"] = args
json.dump(c, open(p, "w"), indent=1)
PY
}
