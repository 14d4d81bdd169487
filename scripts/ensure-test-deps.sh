#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use, when they are missing. As root it
# installs them with apt-get; otherwise it says what is missing and the tests that need those
# tools skip, each saying why.
set -euo pipefail
declare -A want=(
  [nft]=nftables [ip]=iproute2 [dig]=dnsutils [kdig]=knot-dnsutils [etcd]=etcd-server
  [conntrack]=conntrack [curl]=curl [arping]=iputils-arping [haproxy]=haproxy [dnsperf]=dnsperf
  [wrk]=wrk [knotd]=knot [unbound]=unbound [unshare]=util-linux [script]=bsdutils [getent]=libc-bin
)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${want[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
readarray -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-test-deps: not root; missing packages: ${missing[*]} (tests that need them will skip)" >&2
  exit 0
fi
echo "ensure-test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Daemons from these packages must not start on their own: the tests start what they need.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
