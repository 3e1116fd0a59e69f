#!/usr/bin/python3
# Rendered by VMStation: arms Wake-on-LAN (magic packet) and selects suspend-to-RAM ("deep"),
# then records what the node can do in a JSON facts file. Run by Ansible and at every boot.
# Prints one JSON line: {"changed": bool, "facts": {...}}. Exit 0 unless it could not run at all.
import argparse, json, os, re, subprocess, sys


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def find_interface(sysfs, mac, address):
    net = os.path.join(sysfs, "class", "net")
    names = sorted(os.listdir(net)) if os.path.isdir(net) else []
    if mac:
        for name in names:
            if (read(os.path.join(net, name, "address")) or "").lower() == mac.lower():
                return name
    if address:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) > 3 and fields[3].split("/")[0] == address:
                return fields[1]
    return None


def wol_state(ethtool, iface):
    if iface is None:
        return None, None, "no network interface found with the node's MAC or address"
    try:
        res = subprocess.run([ethtool, iface], capture_output=True, text=True)
    except FileNotFoundError:
        return None, None, "ethtool is not installed"
    supported = re.search(r"Supports Wake-on:\s*(\S+)", res.stdout)
    current = re.search(r"^\s*Wake-on:\s*(\S+)", res.stdout, re.M)
    if not supported:
        return None, None, "the NIC %s does not report Wake-on-LAN support (ethtool: %s)" % (iface, (res.stderr or res.stdout).strip().splitlines()[-1:] or "no output")
    return supported.group(1), current.group(1) if current else None, None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--node", required=True)
    p.add_argument("--mac", default="")
    p.add_argument("--address", default="")
    p.add_argument("--facts", required=True)
    p.add_argument("--sysfs", default="/sys")
    p.add_argument("--ethtool", default="ethtool")
    p.add_argument("--check", action="store_true", help="report only, change nothing")
    a = p.parse_args()

    changed = False
    warnings = []
    iface = find_interface(a.sysfs, a.mac, a.address)
    supported, current, problem = wol_state(a.ethtool, iface)
    if problem:
        warnings.append(problem)
    can_wake = bool(supported and "g" in supported and supported != "d")
    if can_wake and current is not None and "g" not in current:
        if not a.check:
            subprocess.run([a.ethtool, "-s", iface, "wol", "g"], check=True)
            supported, current, _ = wol_state(a.ethtool, iface)
        changed = True
    if supported and not can_wake:
        warnings.append("the NIC %s cannot wake on a magic packet (supports: %s)" % (iface, supported))

    mem_sleep_path = os.path.join(a.sysfs, "power", "mem_sleep")
    raw = read(mem_sleep_path)
    offered = [m.strip("[]") for m in raw.split()] if raw else []
    selected = next((m.strip("[]") for m in (raw or "").split() if m.startswith("[")), None)
    if raw is None:
        warnings.append("%s does not exist: the kernel offers no suspend to RAM" % mem_sleep_path)
    elif "deep" not in offered:
        warnings.append("suspend to RAM (deep) is not offered (only %s): s2idle saves far less power" % ", ".join(offered))
    elif selected != "deep":
        if a.check:
            changed = True
        else:
            try:
                with open(mem_sleep_path, "w") as f:
                    f.write("deep")
                selected = "deep"
                changed = True
            except OSError as e:
                warnings.append("cannot select deep in %s: %s" % (mem_sleep_path, e.strerror))

    facts = {
        "node": a.node,
        "interface": iface,
        "wakeOnLan": {"supported": supported, "current": current, "canWake": can_wake and (current is not None and "g" in current)},
        "memSleep": {"offered": offered, "selected": selected, "canSuspendToRam": "deep" in offered and selected == "deep"},
        "warnings": warnings,
    }
    text = json.dumps(facts, indent=2, sort_keys=True) + "\n"
    if read(a.facts) != text.strip():
        if not a.check:
            os.makedirs(os.path.dirname(a.facts), exist_ok=True)
            tmp = a.facts + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, a.facts)
        changed = True
    print(json.dumps({"changed": changed, "facts": facts}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
