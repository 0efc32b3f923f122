#!/usr/bin/env bash
# Benchmarks isolate side by side with the tools a user would pick instead
# (unshare, bubblewrap, crun, runc, podman) and writes bench/RESULTS.md and
# bench/results.png. Not part of the test suite.
#
#   sudo bash bench/run.sh [isolate-bench flags, e.g. -rounds 50 -only isolate,crun]
#
# As root it installs the compared tools from Debian's packages, builds
# isolate and the benchmark, and runs the benchmark as the unprivileged user
# $BENCH_USER (default isolate-test, which needs /etc/subuid and /etc/subgid
# ranges). crun and podman refuse hosts with hybrid cgroups, so everything
# runs in a private mount namespace in which /sys/fs/cgroup/unified is
# unmounted: the same for every tool, and the host's mounts stay as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
user=${BENCH_USER:-isolate-test}

if [ "$(id -u)" != 0 ]; then
	echo "bench/run.sh: run it as root (sudo): it installs packages and hides the hybrid cgroup2 mount in a private mount namespace" >&2
	exit 1
fi
id "$user" >/dev/null 2>&1 || {
	echo "bench/run.sh: no user $user; create one with /etc/subuid and /etc/subgid ranges (scripts/test.sh does), or set BENCH_USER" >&2
	exit 1
}
grep -q "^$user:" /etc/subuid || echo "bench/run.sh: warning: $user has no /etc/subuid range; isolate and unshare --map-auto will fall back or fail" >&2

packages=(bubblewrap crun runc podman uidmap util-linux busybox-static gnuplot-nox slirp4netns passt iperf3 hyperfine strace)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "== installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	flock /tmp/apt.lock apt-get update -q >/dev/null
	flock /tmp/apt.lock apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/isolate-bench.XXXXXX)
cleanup() {
	# podman leaves a pause process behind; end it by its pid file, then
	# remove the work directory (podman's storage holds files of subids).
	pidfile=$work/run/libpod/tmp/pause.pid
	if [ -f "$pidfile" ]; then
		pid=$(cat "$pidfile")
		if [ -n "$pid" ] && [ "$(stat -c %U "/proc/$pid" 2>/dev/null)" = "$user" ]; then
			kill "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "== building isolate and the benchmark"
version=$(git describe --always --dirty 2>/dev/null || echo unknown)
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -ldflags "-X main.version=$version" -o "$work/isolate" ./cmd/isolate
go build -o "$work/isolate-bench" ./bench/cmd/isolate-bench
cp bench/commands.conf "$work/commands.conf"
cp bench/OPTIMISATIONS.md "$work/OPTIMISATIONS.md"
chown -R "$user:" "$work"
chmod 755 "$work"

echo "== running as $user (work directory $work)"
unshare --mount --propagation private -- sh -c '
	# crun: "cgroups in hybrid mode not supported"; this namespace only.
	if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
	cd "$1"
	user=$2; shift 2
	exec setpriv --reuid="$user" --regid="$user" --init-groups \
		env -i USER="$user" PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin \
		./isolate-bench -conf commands.conf -work . -isolate ./isolate -append OPTIMISATIONS.md "$@"
' sh "$work" "$user" "$@"

cp "$work/out/RESULTS.md" bench/RESULTS.md
if [ -f "$work/out/results.png" ]; then cp "$work/out/results.png" bench/results.png; fi
echo "== wrote bench/RESULTS.md and bench/results.png"
