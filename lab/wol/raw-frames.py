#!/usr/bin/python3
"""Raw Wake-on-LAN frames (EtherType 0x0842) for the VMStation lab.

Node.js cannot open AF_PACKET sockets, so this tiny helper does the raw part:
  raw-frames.py listen IFACE           print one JSON line per 0x0842 frame seen on IFACE
  raw-frames.py send IFACE PAYLOAD_HEX send one broadcast 0x0842 frame with that payload
The lab only ever runs it on its own bridge.
"""
import ctypes
import json
import socket
import struct
import sys

ETH_P_ALL = 0x0003
ETH_P_WOL = 0x0842
SO_ATTACH_FILTER = 26
# Classic BPF: keep frames whose EtherType is 0x0842, drop the rest in the kernel.
WOL_FILTER = [(0x28, 0, 0, 12), (0x15, 0, 1, ETH_P_WOL), (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0)]


def mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def listen(iface: str) -> None:
    # ETH_P_ALL, not ETH_P_WOL: only ETH_P_ALL sockets also see frames this host sends.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    code = b"".join(struct.pack("HBBI", *ins) for ins in WOL_FILTER)
    buf = ctypes.create_string_buffer(code)
    prog = struct.pack("HL", len(WOL_FILTER), ctypes.addressof(buf))
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
    s.bind((iface, ETH_P_ALL))
    print(json.dumps({"ready": iface}), flush=True)
    while True:
        frame, addr = s.recvfrom(65535)
        if len(frame) < 14 or frame[12:14] != b"\x08\x42":
            continue
        print(json.dumps({"dst": mac(frame[0:6]), "src": mac(frame[6:12]), "pkttype": addr[2], "payload": frame[14:].hex()}), flush=True)


def send(iface: str, payload_hex: str) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src = s.getsockname()[4]
    frame = b"\xff" * 6 + src + ETH_P_WOL.to_bytes(2, "big") + bytes.fromhex(payload_hex)
    s.send(frame)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "listen":
        try:
            listen(sys.argv[2])
        except KeyboardInterrupt:
            pass
    elif len(sys.argv) == 4 and sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
