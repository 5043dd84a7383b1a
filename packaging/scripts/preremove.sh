#!/bin/sh
# Before removal, for dpkg (remove, or upgrade NEW-VERSION) and rpm (0:
# erase, 1: upgrade): on a removal, stop and disable the service; on an
# upgrade, leave it to the new package's postinstall, which restarts it.
set -e

case "$1" in
remove | deconfigure | 0)
	if [ -d /run/systemd/system ]; then
		systemctl stop passerelle.service || true
	fi
	systemctl disable passerelle.service >/dev/null 2>&1 || true
	;;
esac
exit 0
