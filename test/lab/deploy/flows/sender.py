#!/usr/bin/env python3
# Sending end of the lab firewall test: one probe per flow, printed as a JSON line with what the
# sender saw: a TCP connection (connected / refused by a reset / timeout), a UDP datagram
# (echoed / refused by ICMP unreachable / timeout), or an IP packet of a protocol without ports
# (sent; only the receiver can say whether it arrived). IP-in-IP carries a real inner IPv4 header.
import json, socket, struct, sys

spec = json.loads(sys.argv[1])
target, token = spec["target"], spec["token"].encode()

def inner_ipv4(payload):
    # version 4, IHL 5, total length, TTL 64, protocol 253 (experimentation), 10.78.255.1 -> 10.78.255.2
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, 253, 0, socket.inet_aton("10.78.255.1"), socket.inet_aton("10.78.255.2"))
    return header + payload

for probe in spec["probes"]:
    proto, port = probe["protocol"], probe.get("port")
    result = "timeout"
    try:
        if proto == "tcp":
            s = socket.create_connection((target, port), timeout=2); s.close(); result = "connected"
        elif proto == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.connect((target, port)); s.send(token)
            result = "echoed" if token in s.recv(65535) else "other"
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, port)
            payload = inner_ipv4(token) if port == 4 else struct.pack("!HH", 0, 0x0800) + token
            s.sendto(payload, (target, 0)); result = "sent"
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout:
        result = "timeout"
    print(json.dumps({"protocol": proto, "port": port, "result": result}), flush=True)
