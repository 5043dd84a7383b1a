#!/bin/sh
# After removal, for dpkg (remove, purge, upgrade...) and rpm (0: erase, 1:
# upgrade). The data (/var/lib/passerelle: the tickets, payments, keys and
# certificate) is kept on remove and deleted only on purge; rpm has no
# purge: after `dnf remove`, delete it by hand (docs/install.md). The
# system user is kept, as Debian does for system users: files it owned may
# still be on backups.
set -e

case "$1" in
purge)
	rm -rf /var/lib/passerelle
	;;
esac
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
