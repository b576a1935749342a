#!/bin/sh
# The deploy recipe of docs/deploy.md on one Linux machine: four "hosts" (network namespaces,
# each with its own address, joined by a bridge — the same commands the repository's test hosts
# run, docs/testhosts.md), etcd on one, examples/dist/deploy_node.js on three with mutual TLS.
# Each node finds the others through etcd and calls them; then n3 is killed with kill -9 and the
# others report it gone. Everything it made is removed when it ends.
#
#   npm run build && sudo sh examples/deploy/try-it.sh      (from the repository root)
#
# Needs: root, ip (iproute2), etcd (Debian's etcd-server), node ≥ 22.
set -eu
NODE=${NODE:-node}
ETCD=${ETCD:-etcd}
P=ergodemo$$                       # namespace prefix
NET=10.231.$(($$ % 250))           # the demo's /24 (inside the namespaces only)
DIR=$(mktemp -d)
HOSTS="etcd n1 n2 n3"

cleanup() {
  for h in sw $HOSTS; do
    for pid in $(ip netns pids "$P-$h" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$P-$h" 2>/dev/null || true
  done
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The hosts: a namespace each, a veth pair to a bridge that lives in a namespace of its own.
ip netns add "$P-sw"
ip -n "$P-sw" link set lo up
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
i=1
for h in $HOSTS; do
  ip netns add "$P-$h"
  ip -n "$P-sw" link add "p$i" type veth peer name eth0 netns "$P-$h"
  ip -n "$P-sw" link set "p$i" master br0
  ip -n "$P-sw" link set "p$i" up
  ip -n "$P-$h" link set lo up
  ip -n "$P-$h" link set eth0 up
  ip -n "$P-$h" addr add "$NET.$i/24" dev eth0
  i=$((i + 1))
done
addr() { case $1 in etcd) echo "$NET.1" ;; n1) echo "$NET.2" ;; n2) echo "$NET.3" ;; n3) echo "$NET.4" ;; esac; }

# 2. etcd on its host, clients on the host's address.
E=$(addr etcd)
ip netns exec "$P-etcd" "$ETCD" --name m0 --data-dir "$DIR/etcd" \
  --listen-client-urls "http://$E:2379" --advertise-client-urls "http://$E:2379" \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster m0=http://127.0.0.1:2380 --log-level error >"$DIR/etcd.log" 2>&1 &

# 3. Certificates: a CA and one leaf per node, for the node's address.
"$NODE" examples/deploy/certs.mjs "$DIR" "n1=$(addr n1)" "n2=$(addr n2)" "n3=$(addr n3)"

# 4. The nodes, one per host; each calls the two others once they are there.
ALL="n1@$(addr n1),n2@$(addr n2),n3@$(addr n3)"
for n in n1 n2 n3; do
  ip netns exec "$P-$n" env ERGO_NAME="$n@$(addr "$n")" ERGO_COOKIE=demo-cookie \
    ERGO_ETCD="$E:2379" ERGO_CLUSTER=demo ERGO_TLS_DIR="$DIR/$n" ERGO_PING="$ALL" \
    "$NODE" examples/dist/deploy_node.js >"$DIR/$n.out" 2>"$DIR/$n.log" &
  echo $! >"$DIR/$n.pid"
done

# 5. Wait (up to 60 s) until every node has its two answers.
replies() { grep -c '"reply"' "$DIR/$1.out" 2>/dev/null || true; }
t=0
until [ "$(replies n1)" = 2 ] && [ "$(replies n2)" = 2 ] && [ "$(replies n3)" = 2 ]; do
  t=$((t + 1))
  if [ $t -gt 300 ]; then
    echo "try-it: the nodes did not all answer each other within 60 s" >&2
    for n in n1 n2 n3; do echo "--- $n" >&2; cat "$DIR/$n.out" "$DIR/$n.log" >&2; done
    exit 1
  fi
  sleep 0.2
done
for n in n1 n2 n3; do grep '"reply"' "$DIR/$n.out" | sed "s/^/$n: /"; done
echo "try-it: 3 nodes on 3 hosts found each other through etcd and answered over mutual TLS"

# 6. kill -9 of n3: n1 and n2 see it go.
kill -9 "$(cat "$DIR/n3.pid")"
t=0
until grep -q "\"down\":\"n3@" "$DIR/n1.out" && grep -q "\"down\":\"n3@" "$DIR/n2.out"; do
  t=$((t + 1))
  if [ $t -gt 150 ]; then
    echo "try-it: n1 and n2 did not report n3 down within 30 s" >&2
    exit 1
  fi
  sleep 0.2
done
grep -h '"down"' "$DIR/n1.out" "$DIR/n2.out"
echo "try-it: after kill -9 of n3, n1 and n2 reported it down"
