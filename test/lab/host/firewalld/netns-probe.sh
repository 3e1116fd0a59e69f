#!/bin/sh
# Runs the real firewalld with the zone files in $1/zones on a host made of network namespaces,
# then sends real TCP connections through it and prints one "name result" line per probe
# (result: ok, or the errno the client saw: EHOSTUNREACH is firewalld's admin-prohibited reject).
# Run it as: unshare -n -m --propagation private sh netns-probe.sh DIR
# Everything lives in the new network and mount namespaces: firewalld's nftables table, the
# namespaces below, its D-Bus and /run. Nothing reaches this machine's own network.
#
# The firewalld host is this namespace (a RHEL node, NODE_IP on eth0). Around it:
#   lan     another node (LAN_PEER) and an address outside network.subnet (OUTSIDE), via eth0
#   remote  a pod on another node (REMOTE_POD), arriving decapsulated on tun0 as VXLAN/IP-in-IP deliver it
#   pod     a pod on this node (LOCAL_POD) behind cali1, proxy-ARP as Calico wires it
set -eu
DIR=$1
: "${NODE_IP:?}" "${LAN_PEER:?}" "${OUTSIDE:?}" "${LAN_PREFIX:?}" "${POD_SUBNET:?}" "${REMOTE_POD:?}" "${LOCAL_POD:?}"

mount -t tmpfs tmpfs /run
mkdir -p /run/firewalld /run/netns /run/dbus
# Whatever this script started goes when it ends, however it ends.
PIDS=
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cat >/run/dbus/bus.conf <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file=/run/dbus/bus.conf --nofork 2>/dev/null &
PIDS="$PIDS $!"
i=0
until [ -S /run/dbus/system_bus_socket ]; do
  i=$((i + 1)); [ "$i" -lt 50 ] || { echo "dbus-daemon did not start"; exit 1; }
  sleep 0.1
done
DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
export DBUS_SYSTEM_BUS_ADDRESS

# The wiring, before firewalld starts (as on a booted node).
ip link set lo up
for ns in lan remote pod; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add eth0 type veth peer name eth0 netns lan
ip link add tun0 type veth peer name eth0 netns remote
ip link add cali1 type veth peer name eth0 netns pod
sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
ip addr add "$NODE_IP/$LAN_PREFIX" dev eth0
for dev in eth0 tun0 cali1; do ip link set "$dev" up; sysctl -qw "net.ipv4.conf.$dev.rp_filter=0"; done
sysctl -qw net.ipv4.conf.tun0.proxy_arp=1 net.ipv4.conf.cali1.proxy_arp=1
ip route add "$REMOTE_POD/32" dev tun0
ip route add "$LOCAL_POD/32" dev cali1
ip route add "$OUTSIDE/32" dev eth0
ip -n lan addr add "$LAN_PEER/$LAN_PREFIX" dev eth0
ip -n lan addr add "$OUTSIDE/32" dev eth0
ip -n lan link set eth0 up
ip -n lan route add "$POD_SUBNET" via "$NODE_IP"
ip -n lan route add "$NODE_IP/32" dev eth0 src "$LAN_PEER" 2>/dev/null || true
for ns in remote pod; do ip -n "$ns" link set eth0 up; done
ip -n remote addr add "$REMOTE_POD/32" dev eth0
ip -n remote route add default dev eth0
ip -n pod addr add "$LOCAL_POD/32" dev eth0
ip -n pod route add default dev eth0

firewalld --nofork --nopid --system-config "$DIR" --log-target console >"$DIR/firewalld.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until firewall-cmd --state >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { echo "firewalld did not start"; cat "$DIR/firewalld.log"; exit 1; }
  sleep 0.5
done
echo "default-zone $(firewall-cmd --get-default-zone)"
echo "active-zones $(firewall-cmd --get-active-zones | tr '\n' ' ')"

LISTEN='import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind((sys.argv[1],int(sys.argv[2]))); s.listen(16)
while True:
    c,_=s.accept(); c.close()'
CONNECT='import errno,socket,sys
s=socket.socket(); s.settimeout(3)
try:
    s.bind((sys.argv[1],0)); s.connect((sys.argv[2],int(sys.argv[3]))); print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout")'
python3 -c "$LISTEN" "$NODE_IP" 10250 &
PIDS="$PIDS $!"
python3 -c "$LISTEN" "$NODE_IP" 10257 &
PIDS="$PIDS $!"
ip netns exec pod python3 -c "$LISTEN" "$LOCAL_POD" 8080 &
PIDS="$PIDS $!"
ip netns exec remote python3 -c "$LISTEN" "$REMOTE_POD" 8081 &
PIDS="$PIDS $!"
sleep 1

probe() { # name netns source destination port
  echo "$1 $(ip netns exec "$2" python3 -c "$CONNECT" "$3" "$4" "$5")"
}
probe remote-pod-to-local-pod remote "$REMOTE_POD" "$LOCAL_POD" 8080
probe local-pod-to-remote-pod pod "$LOCAL_POD" "$REMOTE_POD" 8081
probe local-pod-to-host pod "$LOCAL_POD" "$NODE_IP" 10257
probe node-to-kubelet lan "$LAN_PEER" "$NODE_IP" 10250
probe node-to-closed-port lan "$LAN_PEER" "$NODE_IP" 10257
probe outside-to-kubelet lan "$OUTSIDE" "$NODE_IP" 10250
probe node-to-pod-without-dnat lan "$LAN_PEER" "$LOCAL_POD" 8080

