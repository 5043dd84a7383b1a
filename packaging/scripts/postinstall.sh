#!/bin/sh
# After install or upgrade, for dpkg (configure [OLD-VERSION]) and rpm (1:
# install, 2: upgrade): create the system user, then enable and start the
# service on install, restart it on upgrade (the new binary migrates the
# data, after its backup).
set -e

case "$1" in
configure) [ -n "$2" ] && upgrade=yes || upgrade= ;;
1) upgrade= ;;
2) upgrade=yes ;;
*) exit 0 ;;
esac

if ! getent passwd passerelle >/dev/null; then
	useradd --system --user-group --home-dir /var/lib/passerelle --no-create-home \
		--shell /usr/sbin/nologin --comment "Passerelle payment gateway" passerelle
fi

# Without systemd running (a chroot, an image being built) the unit is only
# enabled, to start at the next boot. A service that does not start (a data
# directory from a newer version: a downgrade) does not fail the package's
# installation, as Debian's own helpers do: the journal says why.
failed() {
	echo "passerelle: the service did not start: see journalctl -u passerelle" >&2
}
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	if [ -z "$upgrade" ]; then
		systemctl enable passerelle.service
		systemctl start passerelle.service || failed
	elif systemctl is-enabled --quiet passerelle.service; then
		systemctl restart passerelle.service || failed
	fi
elif [ -z "$upgrade" ]; then
	systemctl enable passerelle.service >/dev/null 2>&1 || true
fi
exit 0
