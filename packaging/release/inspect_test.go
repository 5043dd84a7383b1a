// Package release_test checks what `make package` put in dist/: the files
// and scripts of the .deb and .rpm, the MSI's tables, the archives and
// SHA256SUMS, and (nspawn_test.go) the .deb in a real systemd. It is its
// own module (nfpm is its tool) and runs with `make test-packages`, not
// `make test`.
package release_test

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dist is the folder of the packages: PASSERELLE_DIST, else the clone's
// dist/.
func dist(t *testing.T) string {
	t.Helper()
	d := os.Getenv("PASSERELLE_DIST")
	if d == "" {
		d = "../../dist"
	}
	d, err := filepath.Abs(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "SHA256SUMS")); err != nil {
		t.Fatalf("no packages in %s (run make package): %v", d, err)
	}
	return d
}

// one is the single file of dist matching pattern.
func one(t *testing.T, pattern string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dist(t), pattern))
	if err != nil || len(m) != 1 {
		t.Fatalf("%s: %v, %v", pattern, m, err)
	}
	return m[0]
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is missing (.ci/run installs it): %v", name, err)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func script(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "scripts", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The files every Linux package installs.
var linuxFiles = []string{
	"/usr/bin/passerelle",
	"/usr/lib/systemd/system/passerelle.service",
	"/usr/share/doc/passerelle/README.md",
	"/usr/share/doc/passerelle/install.md",
}

func TestDeb(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			deb := one(t, "passerelle_*_"+arch+".deb")
			var files []string
			for _, line := range strings.Split(run(t, "dpkg-deb", "-c", deb), "\n") {
				f := strings.Fields(line)
				if len(f) == 6 && !strings.HasPrefix(f[0], "d") {
					files = append(files, strings.TrimPrefix(f[5], "."))
					if f[1] != "root/root" {
						t.Errorf("%s belongs to %s", f[5], f[1])
					}
				}
			}
			slices.Sort(files)
			if !slices.Equal(files, linuxFiles) {
				t.Errorf("files %v, want %v", files, linuxFiles)
			}
			info := run(t, "dpkg-deb", "-f", deb, "Package", "Architecture", "Version")
			if !strings.Contains(info, "Package: passerelle") || !strings.Contains(info, "Architecture: "+arch) {
				t.Errorf("control:\n%s", info)
			}
			for deb_, ours := range map[string]string{"postinst": "postinstall.sh", "prerm": "preremove.sh", "postrm": "postremove.sh"} {
				if got := run(t, "dpkg-deb", "-I", deb, deb_); got != script(t, ours) {
					t.Errorf("%s is not packaging/scripts/%s:\n%s", deb_, ours, got)
				}
			}
			// conffiles: none, the configuration is in the data directory.
			if out, err := exec.Command("dpkg-deb", "-I", deb, "conffiles").CombinedOutput(); err == nil {
				t.Errorf("conffiles: %s", out)
			}
		})
	}
}

func TestRPM(t *testing.T) {
	for arch, rpmArch := range map[string]string{"amd64": "x86_64", "arm64": "aarch64"} {
		t.Run(arch, func(t *testing.T) {
			rpm := one(t, "passerelle-*."+rpmArch+".rpm")
			files := strings.Fields(run(t, "rpm", "-qpl", rpm))
			slices.Sort(files)
			if !slices.Equal(files, linuxFiles) {
				t.Errorf("files %v, want those of the .deb %v", files, linuxFiles)
			}
			scripts := run(t, "rpm", "-qp", "--scripts", rpm)
			for _, s := range []string{"postinstall.sh", "preremove.sh", "postremove.sh"} {
				if !strings.Contains(scripts, strings.TrimSpace(script(t, s))) {
					t.Errorf("the rpm's scripts lack packaging/scripts/%s:\n%s", s, scripts)
				}
			}
			if got := strings.TrimSpace(run(t, "rpm", "-qp", "--qf", "%{NAME} %{ARCH}", rpm)); got != "passerelle "+rpmArch {
				t.Errorf("rpm is %q", got)
			}
		})
	}
}

// msiTable is one table of the MSI, as rows of fields.
func msiTable(t *testing.T, msi, table string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(run(t, "msiinfo", "export", msi, table), "\r\n"), "\n")
	var rows [][]string
	for _, l := range lines[min(3, len(lines)):] { // names, types, key
		rows = append(rows, strings.Split(strings.TrimRight(l, "\r"), "\t"))
	}
	return rows
}

func TestMSI(t *testing.T) {
	msi := one(t, "passerelle-*-windows-amd64.msi")
	tables := run(t, "msiinfo", "tables", msi)
	for _, table := range []string{"File", "ServiceInstall", "ServiceControl", "Upgrade", "CustomAction"} {
		if !strings.Contains(tables, table) {
			t.Errorf("no %s table in %s", table, tables)
		}
	}
	var files []string
	for _, r := range msiTable(t, msi, "File") {
		files = append(files, r[2])
	}
	if !slices.Contains(files, "passerelle.exe") {
		t.Errorf("files %v", files)
	}
	// ServiceInstall: name, display name, type 16 (own process), start 2
	// (automatic), error control 1, account, arguments.
	si := msiTable(t, msi, "ServiceInstall")
	if len(si) != 1 || si[0][1] != "passerelle" || si[0][3] != "16" || si[0][4] != "2" || si[0][8] != "LocalSystem" || si[0][10] != "service run" {
		t.Errorf("ServiceInstall %q", si)
	}
	// ServiceControl: start on install (1), stop on install and
	// uninstall (2, 32), delete on uninstall (128).
	sc := msiTable(t, msi, "ServiceControl")
	if len(sc) != 1 || sc[0][1] != "passerelle" || sc[0][2] != "163" {
		t.Errorf("ServiceControl %q", sc)
	}
	// MajorUpgrade: the fixed UpgradeCode, an older version replaced, a
	// newer one refused.
	up := msiTable(t, msi, "Upgrade")
	if len(up) != 2 {
		t.Fatalf("Upgrade %q", up)
	}
	for _, r := range up {
		if r[0] != "{C2F06A71-9CE7-496B-8B8D-0B7D47BBC8F4}" {
			t.Errorf("UpgradeCode %s changed: an installed Passerelle would not be upgraded", r[0])
		}
	}
	if !strings.Contains(run(t, "msiinfo", "export", msi, "CustomAction"), `advfirewall firewall add rule name="Passerelle"`) {
		t.Error("no firewall rule")
	}
	// The data folder is not the installer's: nothing removes it.
	if strings.Contains(run(t, "msiinfo", "export", msi, "RemoveFile"), "Passerelle") {
		t.Error("the MSI removes files of the data folder")
	}
}

func TestArchives(t *testing.T) {
	want := []string{"README.md", "install.md"}
	for _, arch := range []string{"amd64", "arm64"} {
		f, err := os.Open(one(t, "passerelle-*-linux-"+arch+".tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		names := map[string]int64{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names[filepath.Base(h.Name)] = h.Mode
		}
		f.Close()
		if names["passerelle"]&0o111 == 0 {
			t.Errorf("%s: no executable passerelle in %v", arch, names)
		}
		for _, w := range want {
			if _, ok := names[w]; !ok {
				t.Errorf("%s: no %s in %v", arch, w, names)
			}
		}
	}
	zr, err := zip.OpenReader(one(t, "passerelle-*-windows-amd64.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, filepath.Base(f.Name))
	}
	for _, w := range append(want, "passerelle.exe") {
		if !slices.Contains(names, w) {
			t.Errorf("zip: no %s in %v", w, names)
		}
	}
}

func TestSHA256SUMS(t *testing.T) {
	d := dist(t)
	b, err := os.ReadFile(filepath.Join(d, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(d)
	listed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("line %q", line)
		}
		data, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: sum differs", name)
		}
		listed++
	}
	if listed != len(entries)-1 {
		t.Errorf("SHA256SUMS lists %d of %d packages", listed, len(entries)-1)
	}
}
