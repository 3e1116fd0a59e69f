#!/usr/bin/env python3
# Receiving end of the lab firewall test: listens on every TCP and UDP port it is given and on
# raw sockets for IP protocols without ports (4 = IP-in-IP, 47 = GRE), and prints one JSON line per
# packet or connection that the host firewall let through. UDP datagrams are echoed, so the sender
# knows they arrived. Runs until the stop file appears or the time is up.
import json, os, select, socket, sys, time

spec = json.loads(sys.argv[1])
token = spec["token"].encode()
socks = {}
for port in spec["tcp"]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(16); s.setblocking(False)
    socks[s] = ("tcp", port)
for port in spec["udp"]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port)); s.setblocking(False)
    socks[s] = ("udp", port)
for proto in spec["raw"]:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto); s.setblocking(False)
    socks[s] = ("raw", proto)
open(spec["ready"], "w").write("ready\n")
deadline = time.time() + spec["seconds"]
while time.time() < deadline and not os.path.exists(spec["stop"]):
    readable, _, _ = select.select(list(socks), [], [], 0.2)
    for s in readable:
        kind, port = socks[s]
        if kind == "tcp":
            conn, peer = s.accept(); conn.close()
            print(json.dumps({"protocol": "tcp", "port": port, "from": peer[0]}), flush=True)
        elif kind == "udp":
            data, peer = s.recvfrom(65535)
            if token in data:
                s.sendto(data, peer)
                print(json.dumps({"protocol": "udp", "port": port, "from": peer[0]}), flush=True)
        else:
            data, peer = s.recvfrom(65535)
            if token in data:
                print(json.dumps({"protocol": "raw", "port": port, "from": peer[0]}), flush=True)
