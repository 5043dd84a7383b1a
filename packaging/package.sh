#!/usr/bin/env bash
# Builds every package of Passerelle into dist/ (`make package`):
#   passerelle_V_amd64.deb, passerelle_V_arm64.deb, passerelle-V-1.x86_64.rpm,
#   passerelle-V-1.aarch64.rpm (nfpm, the Go tool of packaging/release),
#   passerelle-V-windows-amd64.msi (wixl, from Debian's wixl package),
#   passerelle-V-linux-amd64.tar.gz, ...-linux-arm64.tar.gz,
#   passerelle-V-windows-amd64.zip, and SHA256SUMS.
# VERSION is `git describe` (what `passerelle version` and /healthz say);
# PKG_VERSION, the packages' version, is derived from it so that dpkg, rpm
# and Windows Installer all order it: X.Y.Z[+N.gHASH] from a tag vX.Y.Z,
# else 0.0.N+gHASH, N the number of commits (MSI: X.Y.Z or 0.0.N).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
GO=${GO:-go}
DIST=${DIST:-$ROOT/dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}

count=$(git rev-list --count HEAD 2>/dev/null || echo 0)
hash=$(git rev-parse --short HEAD 2>/dev/null || echo 0)
if [[ $VERSION =~ ^v?([0-9]+\.[0-9]+\.[0-9]+)(-([0-9]+)-g([0-9a-f]+))? ]]; then
	MSI_VERSION=${BASH_REMATCH[1]}
	PKG_VERSION=$MSI_VERSION${BASH_REMATCH[2]:++${BASH_REMATCH[3]}.g${BASH_REMATCH[4]}}
else
	MSI_VERSION=0.0.$count
	PKG_VERSION=0.0.$count+g$hash
fi
PKG_VERSION=${PKG_VERSION_OVERRIDE:-$PKG_VERSION}
MSI_VERSION=${MSI_VERSION_OVERRIDE:-$MSI_VERSION}

for tool in wixl zip; do
	command -v $tool >/dev/null || { echo "package: $tool is missing (apt-get install wixl zip)" >&2; exit 1; }
done

rm -rf "$DIST"
mkdir -p "$DIST"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# nfpm, built once; it expands the environment in a few fields only
# (version, arch), so the paths are written into a copy of the config.
$GO -C packaging/release build -o "$work/nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm

build() { # GOOS GOARCH OUT
	CGO_ENABLED=0 GOOS=$1 GOARCH=$2 $GO build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$3" ./cmd/passerelle
}

# What the archives hold beside the binary.
docs=(README.md docs/install.md)
[ -f LICENSE ] && docs+=(LICENSE)

for arch in amd64 arm64; do
	name=passerelle-$PKG_VERSION-linux-$arch
	mkdir -p "$work/$name"
	build linux $arch "$work/$name/passerelle"
	cp "${docs[@]}" "$work/$name/"
	tar -C "$work" --owner=0 --group=0 -czf "$DIST/$name.tar.gz" "$name"
	sed -e "s|\${PKG_BIN}|$work/$name/passerelle|; s|\${PKG_ROOT}|$ROOT|" packaging/nfpm.yaml >"$work/nfpm-$arch.yaml"
	for packager in deb rpm; do
		PKG_ARCH=$arch PKG_VERSION=$PKG_VERSION "$work/nfpm" package --config "$work/nfpm-$arch.yaml" \
			--packager $packager --target "$DIST/" >"$work/nfpm.log" 2>&1 || { cat "$work/nfpm.log" >&2; exit 1; }
	done
done

name=passerelle-$PKG_VERSION-windows-amd64
mkdir -p "$work/$name"
build windows amd64 "$work/$name/passerelle.exe"
cp "${docs[@]}" "$work/$name/"
(cd "$work" && zip -qr "$DIST/$name.zip" "$name")
# wixl reads sources relative to the current folder only.
(cd "$work/$name" && wixl -a x64 -D Version="$MSI_VERSION" -D Exe=passerelle.exe -D Readme=README.md \
	-D Install=install.md -o "$DIST/$name.msi" "$ROOT/packaging/windows/passerelle.wxs" 2>&1 |
	grep -v '^$' >&2 || true)
[ -s "$DIST/$name.msi" ] || { echo "package: wixl made no MSI" >&2; exit 1; }

(cd "$DIST" && sha256sum -- * >SHA256SUMS)
echo "packages of passerelle $VERSION (package version $PKG_VERSION) in $DIST:"
(cd "$DIST" && ls -l)
