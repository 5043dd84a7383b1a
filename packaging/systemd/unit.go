// Package systemd holds Passerelle's systemd unit, so that the packages and
// `passerelle service install` use the same file.
package systemd

import (
	_ "embed"
	"strings"
)

//go:embed passerelle.service
var unit string

// PackagedPath is the binary's path in the .deb and .rpm.
const PackagedPath = "/usr/bin/passerelle"

// Unit is the unit for the binary at exe. A space in the path is written
// \x20, as systemd.syntax(7) reads it.
func Unit(exe string) string {
	exe = strings.ReplaceAll(exe, `\`, `\\`)
	exe = strings.ReplaceAll(exe, " ", `\x20`)
	return strings.Replace(unit, "ExecStart="+PackagedPath+" ", "ExecStart="+exe+" ", 1)
}
