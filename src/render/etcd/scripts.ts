// The shell scripts the etcd nodes run (POSIX sh, checked by shellcheck and `sh -n` in the tests):
// - vmstation-etcd-snapshot: `save` (etcdctl snapshot save, checked with `snapshot status`, kept
//   with its sha256, pruned to `keep`, copied to copyTo), `export` (RKE2: its newest snapshot
//   copied and measured), `list`; every run leaves the node-exporter textfile metrics.
// - vmstation-etcd-snapshot-receive: the forced command on a copy target node (put, list, get),
//   so the etcd node's key can do nothing else there.
// etcd >= 3.5 checks snapshots with `etcdutl snapshot status` (etcdctl's is deprecated there and
// gone in 3.6: etcd-io/etcd release-3.6 etcdutl/README.md); etcd 3.4 has only etcdctl's.
import { COPIES_DIR } from './layout.js';

export const SNAPSHOT_SCRIPT = '/usr/local/sbin/vmstation-etcd-snapshot';
export const RECEIVE_SCRIPT = '/usr/local/sbin/vmstation-etcd-snapshot-receive';
export const ENV_FILE = '/etc/vmstation/etcd-snapshot.env';
export const BACKUP_KEY_DIR = '/etc/vmstation/etcd-backup';
export const METRICS_FILE = 'vmstation_etcd_snapshot.prom';

export function snapshotScript(): string {
  return String.raw`#!/bin/sh
# vmstation etcd snapshots (rendered by vmstation; do not edit). Subcommands:
#   save   (default for the timer) etcdctl snapshot save, checked with snapshot status, sha256,
#          pruned to SNAPSHOT_KEEP, copied to the copy target; node-exporter textfile metrics
#   export (RKE2) copy and measure the newest snapshot RKE2 took itself
#   list   one line per kept snapshot: NAME BYTES EPOCH SHA256
#   status FILE   snapshot status of a file, as JSON
# Settings: ${ENV_FILE} (the unit's EnvironmentFile).
set -eu
umask 077

: "${'$'}{NODE_NAME:?}" "${'$'}{SNAPSHOT_DIR:?}" "${'$'}{SNAPSHOT_KEEP:?}"
ETCDCTL=${'$'}{ETCDCTL:-etcdctl}
ETCDUTL=${'$'}{ETCDUTL:-etcdutl}
TEXTFILE_DIR=${'$'}{TEXTFILE_DIR:-}
COPY_TO_PATH=${'$'}{COPY_TO_PATH:-}
COPY_TO_ADDRESS=${'$'}{COPY_TO_ADDRESS:-}
PROM=${METRICS_FILE}
KEY_DIR=${BACKUP_KEY_DIR}

log() { echo "vmstation-etcd-snapshot: $*" >&2; }

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# snapshot status: etcdutl where it exists (etcd >= 3.5), else etcdctl (etcd 3.4).
status() {
	if command -v "$ETCDUTL" >/dev/null 2>&1; then
		"$ETCDUTL" snapshot status "$1" -w json
	else
		ETCDCTL_API=3 "$ETCDCTL" snapshot status "$1" -w json
	fi
}

field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"; }

previous() {
	[ -n "$TEXTFILE_DIR" ] && [ -f "$TEXTFILE_DIR/$PROM" ] || return 0
	sed -n "s/^$1 //p" "$TEXTFILE_DIR/$PROM" | head -n 1
}

# The textfile collector's file, written atomically (node-exporter's README.textfile).
metrics() {
	[ -n "$TEXTFILE_DIR" ] || return 0
	mkdir -p "$TEXTFILE_DIR"
	tmp="$TEXTFILE_DIR/.$PROM.$$"
	{
		echo "# HELP vmstation_etcd_snapshot_last_success_timestamp_seconds When the newest snapshot that passed snapshot status was written."
		echo "# TYPE vmstation_etcd_snapshot_last_success_timestamp_seconds gauge"
		[ -z "$LAST_OK" ] || echo "vmstation_etcd_snapshot_last_success_timestamp_seconds $LAST_OK"
		echo "# HELP vmstation_etcd_snapshot_last_size_bytes Size of that snapshot."
		echo "# TYPE vmstation_etcd_snapshot_last_size_bytes gauge"
		[ -z "$LAST_SIZE" ] || echo "vmstation_etcd_snapshot_last_size_bytes $LAST_SIZE"
		echo "# HELP vmstation_etcd_snapshot_last_revision etcd revision in that snapshot (0: not checked)."
		echo "# TYPE vmstation_etcd_snapshot_last_revision gauge"
		[ -z "$LAST_REVISION" ] || echo "vmstation_etcd_snapshot_last_revision $LAST_REVISION"
		echo "# HELP vmstation_etcd_snapshot_last_duration_seconds How long the last attempt took."
		echo "# TYPE vmstation_etcd_snapshot_last_duration_seconds gauge"
		echo "vmstation_etcd_snapshot_last_duration_seconds $(($(date +%s) - STARTED))"
		echo "# HELP vmstation_etcd_snapshot_last_attempt_timestamp_seconds When the last attempt ran."
		echo "# TYPE vmstation_etcd_snapshot_last_attempt_timestamp_seconds gauge"
		echo "vmstation_etcd_snapshot_last_attempt_timestamp_seconds $STARTED"
		echo "# HELP vmstation_etcd_snapshot_last_attempt_success 1 when the last attempt saved and checked a snapshot."
		echo "# TYPE vmstation_etcd_snapshot_last_attempt_success gauge"
		echo "vmstation_etcd_snapshot_last_attempt_success $1"
		echo "# HELP vmstation_etcd_snapshots_kept Snapshots kept on this node."
		echo "# TYPE vmstation_etcd_snapshots_kept gauge"
		echo "vmstation_etcd_snapshots_kept $(snapshots "$SNAPSHOT_DIR" | wc -l)"
		if [ -n "$COPY_TO_PATH$COPY_TO_ADDRESS" ]; then
			echo "# HELP vmstation_etcd_snapshot_copy_last_success_timestamp_seconds When a snapshot last reached the copy target."
			echo "# TYPE vmstation_etcd_snapshot_copy_last_success_timestamp_seconds gauge"
			[ -z "$LAST_COPY" ] || echo "vmstation_etcd_snapshot_copy_last_success_timestamp_seconds $LAST_COPY"
		fi
	} >"$tmp"
	chmod 0644 "$tmp"
	mv "$tmp" "$TEXTFILE_DIR/$PROM"
}

# Snapshot files of a folder, newest first (names carry a UTC timestamp: name order is time order).
snapshots() {
	for f in "$1"/etcd-snapshot-*; do
		case $f in *.sha256 | *.part) continue ;; esac
		[ -f "$f" ] && echo "$f"
	done | sort -r
}

prune() {
	snapshots "$1" | tail -n +"$((SNAPSHOT_KEEP + 1))" | while IFS= read -r old; do
		rm -f "$old" "$old.sha256"
		log "pruned $old"
	done
}

copy() {
	file=$1
	name=$(basename "$file")
	sum=$(sha256 "$file")
	if [ -n "$COPY_TO_PATH" ]; then
		mkdir -p "$COPY_TO_PATH"
		cp "$file" "$COPY_TO_PATH/.$name.part"
		[ "$(sha256 "$COPY_TO_PATH/.$name.part")" = "$sum" ] || { rm -f "$COPY_TO_PATH/.$name.part"; return 1; }
		mv "$COPY_TO_PATH/.$name.part" "$COPY_TO_PATH/$name"
		echo "$sum  $name" >"$COPY_TO_PATH/$name.sha256"
		prune "$COPY_TO_PATH"
	elif [ -n "$COPY_TO_ADDRESS" ]; then
		ssh -i "$KEY_DIR/id_ed25519" -p "${'$'}{COPY_TO_PORT:-22}" -o BatchMode=yes -o StrictHostKeyChecking=yes \
			-o UserKnownHostsFile="$KEY_DIR/known_hosts" -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 \
			"${'$'}{COPY_TO_USER:-root}@$COPY_TO_ADDRESS" "put $name $sum" <"$file"
	fi
}

finish_copy() {
	[ -n "$COPY_TO_PATH$COPY_TO_ADDRESS" ] || return 0
	if copy "$1"; then
		LAST_COPY=$(date +%s)
		log "copied $(basename "$1") to ${'$'}{COPY_TO_NODE:-$COPY_TO_PATH}"
	else
		log "copy of $(basename "$1") to ${'$'}{COPY_TO_NODE:-$COPY_TO_PATH} failed; the snapshot stays on this node"
		COPY_FAILED=1
	fi
}

save() {
	mkdir -p "$SNAPSHOT_DIR"
	chmod 0700 "$SNAPSHOT_DIR"
	name="etcd-snapshot-$NODE_NAME-$(date -u +%Y%m%dT%H%M%SZ).db"
	part="$SNAPSHOT_DIR/.$name.part"
	if ! ETCDCTL_API=3 "$ETCDCTL" snapshot save "$part" >&2; then
		rm -f "$part" "$part.part"
		metrics 0
		log "etcdctl snapshot save failed"
		exit 1
	fi
	if ! st=$(status "$part"); then
		rm -f "$part"
		metrics 0
		log "the snapshot failed snapshot status: not kept"
		exit 1
	fi
	mv "$part" "$SNAPSHOT_DIR/$name"
	echo "$(sha256 "$SNAPSHOT_DIR/$name")  $name" >"$SNAPSHOT_DIR/$name.sha256"
	LAST_OK=$(date +%s)
	LAST_SIZE=$(wc -c <"$SNAPSHOT_DIR/$name" | tr -d ' ')
	LAST_REVISION=$(echo "$st" | field revision)
	prune "$SNAPSHOT_DIR"
	log "saved $SNAPSHOT_DIR/$name (revision $LAST_REVISION, $LAST_SIZE bytes)"
	finish_copy "$SNAPSHOT_DIR/$name"
	metrics 1
	echo "$SNAPSHOT_DIR/$name"
}

# RKE2 saves and prunes its snapshots itself: copy the newest one and report its age.
export_newest() {
	newest=$(snapshots "$SNAPSHOT_DIR" | head -n 1)
	if [ -z "$newest" ]; then
		metrics 0
		log "no snapshot in $SNAPSHOT_DIR yet"
		exit 1
	fi
	LAST_OK=$(stat -c %Y "$newest")
	LAST_SIZE=$(stat -c %s "$newest")
	LAST_REVISION=0
	finish_copy "$newest"
	metrics 1
	echo "$newest"
}

list() {
	snapshots "$SNAPSHOT_DIR" | while IFS= read -r f; do
		sum=$(cut -d' ' -f1 "$f.sha256" 2>/dev/null || true)
		echo "$(basename "$f") $(stat -c '%s %Y' "$f") ${'$'}{sum:--}"
	done
}

STARTED=$(date +%s)
LAST_OK=$(previous vmstation_etcd_snapshot_last_success_timestamp_seconds)
LAST_SIZE=$(previous vmstation_etcd_snapshot_last_size_bytes)
LAST_REVISION=$(previous vmstation_etcd_snapshot_last_revision)
LAST_COPY=$(previous vmstation_etcd_snapshot_copy_last_success_timestamp_seconds)
COPY_FAILED=0

case ${'$'}{1:-save} in
save) save ;;
export) export_newest ;;
list) list ;;
status) status "$2" ;;
*)
	log "unknown subcommand $1 (save, export, list, status FILE)"
	exit 2
	;;
esac
exit "$COPY_FAILED"
`;
}

export function receiveScript(): string {
  return String.raw`#!/bin/sh
# vmstation etcd snapshot copies (rendered by vmstation; do not edit): the forced command of the
# etcd nodes' backup keys on this node, command="${RECEIVE_SCRIPT} FROM KEEP".
# Requests ($SSH_ORIGINAL_COMMAND): put NAME SHA256 (the file on standard input), list, get NAME.
set -eu
umask 077
from=$1
keep=$2
case $from in *[!A-Za-z0-9.-]* | '') echo "bad source node" >&2 && exit 2 ;; esac
dir=${COPIES_DIR}/$from

check_name() {
	case $1 in
	*/* | *..* | '') echo "refused name $1" >&2 && exit 2 ;;
	etcd-snapshot-*) ;;
	*) echo "refused name $1" >&2 && exit 2 ;;
	esac
}

snapshots() {
	for f in "$dir"/etcd-snapshot-*; do
		case $f in *.sha256 | *.part) continue ;; esac
		[ -f "$f" ] && echo "$f"
	done | sort -r
}

# shellcheck disable=SC2086 # the request is split into words on purpose
set -- ${'$'}{SSH_ORIGINAL_COMMAND:-}
case ${'$'}{1:-} in
put)
	check_name "${'$'}{2:-}"
	mkdir -p "$dir"
	part="$dir/.$2.part"
	cat >"$part"
	if [ "$(sha256sum "$part" | cut -d' ' -f1)" != "${'$'}{3:-}" ]; then
		rm -f "$part"
		echo "checksum mismatch: $2 not kept" >&2
		exit 1
	fi
	mv "$part" "$dir/$2"
	echo "$3  $2" >"$dir/$2.sha256"
	snapshots | tail -n +"$((keep + 1))" | while IFS= read -r old; do rm -f "$old" "$old.sha256"; done
	;;
list)
	snapshots | while IFS= read -r f; do
		sum=$(cut -d' ' -f1 "$f.sha256" 2>/dev/null || true)
		echo "$(basename "$f") $(stat -c '%s %Y' "$f") ${'$'}{sum:--}"
	done
	;;
get)
	check_name "${'$'}{2:-}"
	cat "$dir/$2"
	;;
*)
	echo "unknown request: put NAME SHA256, list or get NAME" >&2
	exit 2
	;;
esac
`;
}
