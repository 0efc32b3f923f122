#!/usr/bin/env bash
# Network benchmark of isolate (issue 3): TCP throughput with iperf3 between
# the sandbox and the host's loopback, both directions, for each mode and
# each port driver, side by side with host loopback itself (the ceiling);
# and the start-up time each network mode adds to `isolate true`.
# Writes bench/NET-RESULTS.md.
#
#   bash bench/net.sh            # as root: isolate runs as $BENCH_USER
#   BENCH_SECONDS=10 bash bench/net.sh
#
# Needs: go, iperf3, hyperfine, jq, slirp4netns, passt, /dev/net/tun usable
# by the user. As root it runs isolate as BENCH_USER (default isolate-test,
# the test suite's unprivileged user), as a normal user as that user.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-5}
out=bench/NET-RESULTS.md
for b in go iperf3 hyperfine jq slirp4netns pasta; do
	command -v "$b" >/dev/null || { echo "bench: $b not found (apt-get install iperf3 hyperfine jq slirp4netns passt)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/isolate-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 0777 "$tmp"
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$tmp/isolate" ./cmd/isolate
chmod 0755 "$tmp/isolate"
iso="$tmp/isolate"

as_user=()
if [ "$(id -u)" = 0 ]; then
	user=${BENCH_USER:-isolate-test}
	id "$user" >/dev/null 2>&1 || { echo "bench: user $user missing (run the test suite once, or set BENCH_USER)" >&2; exit 1; }
	as_user=(runuser -u "$user" --)
fi
u() { (cd "$tmp" && "${as_user[@]}" "$@"); }

port() { # a free TCP port on 127.0.0.1
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# gbits JSON: the receiver's throughput in Gbit/s; 0.00 when the run
# failed or stalled past its bound (no result in the JSON).
gbits() { jq -r '(.end.sum_received.bits_per_second // 0) / 1e9' "$1" 2>/dev/null | awk '{printf "%.2f", $1}' || echo 0.00; }

# client ARGS...: iperf3's client, bounded so that a stalled helper cannot
# hang the benchmark.
client() { timeout $((secs + 30)) iperf3 "$@" >"$tmp/r.json" 2>/dev/null || true; }

# finish PID: ends this run's background server (and the runuser and
# isolate below it), if it is still there after a failed client.
killtree() {
	local c
	for c in $(pgrep -P "$1"); do killtree "$c"; done
	kill "$1" 2>/dev/null || true
}
finish() { killtree "$1"; wait "$1" 2>/dev/null || true; }

wait_listening() { # file
	for _ in $(seq 1 500); do grep -q "Server listening" "$1" 2>/dev/null && return 0; sleep 0.01; done
	echo "bench: server did not start: $(cat "$1")" >&2; return 1
}

# host: iperf3 on the host's loopback, the ceiling. $1 = "" or -R
host_run() {
	local p; p=$(port)
	iperf3 -s -1 --forceflush -B 127.0.0.1 -p "$p" >"$tmp/srv.log" 2>&1 &
	local srv=$!
	wait_listening "$tmp/srv.log"
	client -c 127.0.0.1 -p "$p" -t "$secs" -O 1 -J $1
	finish $srv
	gbits "$tmp/r.json"
}

# outbound: the client in the sandbox, the server on the host's loopback,
# reached through the gateway (needs --allow-host-loopback). $1 mode, $2 "" or -R
out_run() {
	local p; p=$(port)
	iperf3 -s -1 --forceflush -B 127.0.0.1 -p "$p" >"$tmp/srv.log" 2>&1 &
	local srv=$!
	wait_listening "$tmp/srv.log"
	u timeout $((secs + 30)) "$iso" -q --net "$1" --allow-host-loopback sh -c \
		"gw=\$(ip route show default | awk '{print \$3; exit}'); iperf3 -c \$gw -p $p -t $secs -O 1 -J $2" >"$tmp/r.json" || true
	finish $srv
	gbits "$tmp/r.json"
}

# inbound: the server in the sandbox, published with -p, the client on the
# host. $1 "mode driver", $2 "" or -R
in_run() {
	local p; p=$(port)
	set -- $1 "$2"
	u "$iso" -q --net "$1" --port-driver "$2" -p "$p:5201" iperf3 -s -1 --forceflush -p 5201 >"$tmp/srv.log" 2>&1 &
	local srv=$!
	wait_listening "$tmp/srv.log"
	client -c 127.0.0.1 -p "$p" -t "$secs" -O 1 -J $3
	finish $srv
	gbits "$tmp/r.json"
}

# median3 CMD...: runs a measurement three times and prints the median,
# since one iperf3 run on a small shared machine can hit a stall.
median3() {
	local a b c
	a=$("$@"); b=$("$@"); c=$("$@")
	printf '%s\n%s\n%s\n' "$a" "$b" "$c" | sort -g | sed -n 2p
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "== host loopback"
h_up=$(median3 host_run ""); h_down=$(median3 host_run -R)
rows=()
add() { # label up down
	rows+=("| $1 | $2 | $(ratio "$2" "$h_up") | $3 | $(ratio "$3" "$h_down") |")
}
rows+=("| host loopback (ceiling) | $h_up | 1.00 | $h_down | 1.00 |")
for m in slirp4netns pasta; do
	echo "== outbound --net $m"
	add "outbound, --net $m$([ $m = slirp4netns ] && echo ' (MTU 65520)')" "$(median3 out_run $m "")" "$(median3 out_run $m -R)"
done
for md in "slirp4netns builtin" "pasta builtin" "slirp4netns slirp4netns" "pasta implicit"; do
	echo "== inbound -p, --net ${md% *} --port-driver ${md#* }"
	add "inbound -p, --net ${md% *} --port-driver ${md#* }" "$(median3 in_run "$md" "")" "$(median3 in_run "$md" -R)"
done

echo "== start-up"
u hyperfine -N --warmup 5 --runs 40 --export-json "$tmp/start.json" \
	"$iso -q --net host true" "$iso -q --net none true" "$iso -q --net slirp4netns true" "$iso -q --net pasta true" \
	"$iso -q --net slirp4netns -p $(port):80 true" >/dev/null
start_rows=$(jq -r '.results as $r | ($r[1].mean) as $base | $r[] |
	"| `\(.command | sub(".*/isolate -q "; "isolate "))` | \(.mean * 1000 | . * 10 | round / 10) ± \(.stddev * 1000 | . * 10 | round / 10) | \((.mean - $base) * 1000 | . * 10 | round / 10) |"' "$tmp/start.json")

{
	echo "# Network benchmark"
	echo
	echo "Produced by \`bash bench/net.sh\` (BENCH_SECONDS=$secs) on $(date -u '+%Y-%m-%d %H:%M UTC'),"
	echo "$(uname -sr), $(nproc) CPUs; slirp4netns $(slirp4netns --version | awk 'NR==1{print $3}'), passt $(dpkg-query -W -f='${Version}' passt 2>/dev/null || echo '?'), iperf3 $(iperf3 --version | awk 'NR==1{print $2}')."
	echo "isolate runs as ${as_user[2]:-$(id -un)} (unprivileged). All rows come from the same run."
	echo
	echo "## TCP throughput (iperf3, one stream, ${secs} s after a 1 s warm-up, median of 3 runs)"
	echo
	echo "\"up\" is sandbox → host for outbound rows and host → sandbox for inbound rows"
	echo "(iperf3's client sends); \"down\" is the reverse (iperf3 -R). Outbound rows reach"
	echo "the host's 127.0.0.1 through the gateway (--allow-host-loopback). Ratio = mode / host loopback."
	echo "0.00 would mean a run that stalled past its bound or failed."
	echo
	echo "| path | up Gbit/s | up ratio | down Gbit/s | down ratio |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
	echo
	echo "## Start-up (hyperfine, 40 runs after 5 warm-ups)"
	echo
	echo "Extra = mean − mean of \`isolate --net none true\` (a network namespace with loopback only)."
	echo
	echo "| command | mean ms | extra ms |"
	echo "| --- | ---: | ---: |"
	echo "$start_rows"
} >"$out"
cat "$out"
