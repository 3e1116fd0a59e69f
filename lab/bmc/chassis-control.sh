#!/bin/sh
# ipmi_sim's chassis_control program for a VMStation lab BMC. lan.conf calls it as
#   chassis-control.sh URL 0x20 get power | set power 0|1
# and it asks the lab supervisor (URL on 127.0.0.1) for the node's real power state.
url=$1; shift; shift
op=$1; shift
case "$op" in
  get)
    for parm in "$@"; do
      case "$parm" in
        power) v=$(curl -fsS --max-time 5 "$url") || { echo "lab supervisor unreachable"; exit 1; }; echo "power:$v" ;;
        boot) echo "boot:default" ;;
        *) echo "Invalid parameter: $parm"; exit 1 ;;
      esac
    done ;;
  set)
    while [ $# -ge 2 ]; do
      case "$1" in
        power) curl -fsS --max-time 5 -X POST --data "$2" "$url" >/dev/null || { echo "lab supervisor refused power $2"; exit 1; } ;;
        reset|boot|identify) ;;
        *) echo "Invalid parameter: $1"; exit 1 ;;
      esac
      shift 2
    done ;;
  *) echo "Unknown operation: $op"; exit 1 ;;
esac
