#!/usr/bin/env bash
# Runs isolate's whole test suite: unit tests, then the integration tests of
# the real binary as an unprivileged user, once with newuidmap/newgidmap and
# once with them hidden (the single-id fallback).
#
# As root (CI does this) it first installs what the tests need from Debian's
# packages; the Go tests then create an unprivileged test user with
# /etc/subuid and /etc/subgid ranges and run isolate as that user.
# With CI=true a missing prerequisite fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(uidmap iproute2 procps util-linux psmisc zsh keyutils busybox-static file fuse-overlayfs podman slirp4netns passt iperf3 tmux gcc libc6-dev)
if [ "$(id -u)" = 0 ]; then
	missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "== installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	fi
	# slirp4netns and pasta open /dev/net/tun as the user; some hosts ship
	# it root-only (0600). 0666 is its standard mode (udev's default rule).
	# The Go tests' set-up does the same; it is not set back.
	if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
		echo "== chmod 0666 /dev/net/tun (was $(stat -c %a /dev/net/tun))"
		chmod 0666 /dev/net/tun
	fi
fi

echo "== go vet"
go vet ./...
# isolate re-executes itself inside root filesystems, where no libc may
# exist, and each of its execs would pay the loader: it must be static.
# (With cgo on, os/user and net link libc; CGO_ENABLED=0 keeps them pure Go.)
export CGO_ENABLED=0
# urfave/cli's man-page renderer costs every start of isolate and of its
# sandbox child about 0.7 ms in package init; isolate renders its own
# (cmd/isolate/man.go), so the renderer is left out.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-tags=urfave_cli_no_docs"
bin=$(mktemp)
go build -o "$bin" ./cmd/isolate
if go version -m "$bin" | grep -q blackfriday; then
	echo "isolate links urfave/cli's Markdown renderer: build with -tags urfave_cli_no_docs" >&2
	exit 1
fi
if ! file "$bin" | grep -q 'statically linked'; then
	file "$bin" >&2
	echo "isolate is not a static binary" >&2
	exit 1
fi
rm -f "$bin"
echo "== unit tests"
go test -count=1 $(go list ./... | grep -v /test$)
# Logs of this run only: helpers and CI jobs may run the suite side by side.
logs=$(mktemp -d /tmp/isolate-test.XXXXXX)
trap 'rm -rf "$logs"' EXIT
echo "== integration tests (newuidmap/newgidmap)"
go test -count=1 -v ./test/ 2>&1 | tee "$logs/helpers.log" | grep -E '^(=== RUN|--- FAIL|FAIL|ok|PASS|panic)' | grep -v '=== RUN' || true
grep -q '^ok' "$logs/helpers.log" || { cat "$logs/helpers.log"; exit 1; }
echo "== integration tests (helpers hidden: single-id fallback)"
ISOLATE_TEST_IDMAP=fallback go test -count=1 -v ./test/ > "$logs/fallback.log" 2>&1 || { cat "$logs/fallback.log"; exit 1; }
grep -E '^(--- FAIL|FAIL|ok)' "$logs/fallback.log"

pass=$(cat "$logs/helpers.log" "$logs/fallback.log" | grep -c -- '--- PASS' || true)
skip=$(cat "$logs/helpers.log" "$logs/fallback.log" | grep -c -- '--- SKIP' || true)
echo "integration: $pass passed, 0 failed, $skip skipped"
