package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

type entry struct {
	mode    int64
	content string
}

func readTarGz(t *testing.T, p string) map[string]entry {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]entry{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		got[h.Name] = entry{h.Mode, string(data)}
	}
}

func readZip(t *testing.T, p string) map[string]entry {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = zr.Close() }()
	got := map[string]entry{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		_ = rc.Close()
		got[f.Name] = entry{int64(f.Mode().Perm()), string(data)}
	}
	return got
}

func TestArchive(t *testing.T) {
	src := t.TempDir()
	bin := write(t, src, "bin", "\x7fELF", 0o700)
	lic := write(t, src, "LICENSE", "license text", 0o600)
	want := map[string]entry{"kubectl-swoll": {0o755, "\x7fELF"}, "LICENSE": {0o644, "license text"}}
	for _, ext := range []string{".tar.gz", ".zip"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			build := func(name string, args ...string) []byte {
				t.Helper()
				out := filepath.Join(dir, name+ext)
				if err := run(append([]string{"archive", "-o", out}, args...), io.Discard, io.Discard); err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
			a := build("a", "kubectl-swoll="+bin, "LICENSE="+lic)
			// neither the sources' mtimes nor the argument order may change the bytes
			if err := os.Chtimes(bin, epoch.AddDate(20, 0, 0), epoch.AddDate(20, 0, 0)); err != nil {
				t.Fatal(err)
			}
			b := build("b", "LICENSE="+lic, "kubectl-swoll="+bin)
			if !bytes.Equal(a, b) {
				t.Error("two archives of the same files differ")
			}
			read := readTarGz
			if ext == ".zip" {
				read = readZip
			}
			got := read(t, filepath.Join(dir, "a"+ext))
			if len(got) != len(want) {
				t.Errorf("members %v, want %v", got, want)
			}
			for name, w := range want {
				if got[name] != w {
					t.Errorf("%s = %+v, want %+v", name, got[name], w)
				}
			}
		})
	}
}

func TestArchiveErrors(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "f", "x", 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"archive", "-o", filepath.Join(dir, "x.tar"), "f=" + f}, "want a .tar.gz or .zip"},
		{[]string{"archive", "-o", filepath.Join(dir, "x.zip"), "f"}, "want NAME=local/file"},
		{[]string{"archive", "-o", filepath.Join(dir, "x.zip"), "f=" + dir}, "not a regular file"},
		{[]string{"archive", "-o", filepath.Join(dir, "x.zip"), "f=" + filepath.Join(dir, "none")}, "no such file"},
		{[]string{"unpack"}, "unknown subcommand"},
	}
	for _, tt := range tests {
		err := run(tt.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}

const templateText = `# template comment
# more
apiVersion: krew.googlecontainertools.github.com/v1alpha2
spec:
  version: {{ .TagName }}
  caveats: |
    ln -s "${KREW_ROOT:-$HOME/.krew}/store/swoll/{{ .TagName }}/x"
  platforms:
  - selector: {matchLabels: {os: linux}}
    {{addURIAndSha "https://example.invalid/download/{{ .TagName }}/a_{{ .TagName }}_linux.tar.gz" .TagName }}
    bin: a
`

func TestManifest(t *testing.T) {
	dir := t.TempDir()
	tmpl := write(t, dir, "t.yaml", templateText, 0o644)
	write(t, dir, "a_v1.2.3_linux.tar.gz", "archive bytes", 0o644)
	sum := sha256.Sum256([]byte("archive bytes"))
	want := manifestHeader + `apiVersion: krew.googlecontainertools.github.com/v1alpha2
spec:
  version: v1.2.3
  caveats: |
    ln -s "${KREW_ROOT:-$HOME/.krew}/store/swoll/v1.2.3/x"
  platforms:
  - selector: {matchLabels: {os: linux}}
    uri: https://example.invalid/download/v1.2.3/a_v1.2.3_linux.tar.gz
    sha256: ` + hex.EncodeToString(sum[:]) + `
    bin: a
`
	var out bytes.Buffer
	if err := run([]string{"manifest", "-template", tmpl, "-tag", "v1.2.3", "-dir", dir}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Fatalf("rendered:\n%s\nwant:\n%s", out.String(), want)
	}
	// -sha-from takes the sums from a manifest: rendering again from the output gives the output
	rendered := write(t, dir, "plugins.yaml", out.String(), 0o644)
	var again bytes.Buffer
	if err := run([]string{"manifest", "-template", tmpl, "-tag", "v1.2.3", "-sha-from", rendered}, &again, io.Discard); err != nil {
		t.Fatal(err)
	}
	if again.String() != want {
		t.Errorf("-sha-from rendered:\n%s", again.String())
	}
	// a missing archive is an error, not an empty sha256
	err := run([]string{"manifest", "-template", tmpl, "-tag", "v9.9.9", "-dir", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "a_v9.9.9_linux.tar.gz") {
		t.Errorf("missing archive: err %v", err)
	}
}

// The committed plugins.yaml must be what make dist renders from the committed .krew.yaml (for its version and
// sha256 values): edit the template, never the manifest.
func TestCommittedManifestIsTheTemplatesRendering(t *testing.T) {
	committed, err := os.ReadFile("../../plugins.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tag string
	for _, l := range strings.Split(string(committed), "\n") {
		if v, ok := strings.CutPrefix(l, "  version: "); ok {
			tag = v
		}
	}
	var out bytes.Buffer
	err = run([]string{"manifest", "-template", "../../.krew.yaml", "-tag", tag, "-sha-from", "../../plugins.yaml"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(committed) {
		t.Errorf("plugins.yaml is not .krew.yaml rendered for %s: regenerate it (make dist VERSION=%s; cp _output/dist/plugins.yaml .)", tag, tag)
	}
}

// -partial renders a dist of some platforms: the others are left out, whatever their place in the list.
func TestManifestPartial(t *testing.T) {
	const tmpl = `spec:
  version: {{ .TagName }}
  platforms:
  - selector: {matchLabels: {os: linux}}
    {{addURIAndSha "https://example.invalid/{{ .TagName }}/a_linux.tar.gz" .TagName }}
    bin: a
  - selector: {matchLabels: {os: darwin}}
    {{addURIAndSha "https://example.invalid/{{ .TagName }}/a_darwin.tar.gz" .TagName }}
    bin: a
  - selector: {matchLabels: {os: windows}}
    {{addURIAndSha "https://example.invalid/{{ .TagName }}/a_windows.zip" .TagName }}
    bin: a.exe
`
	for _, present := range [][]string{{"linux"}, {"darwin"}, {"windows"}, {"linux", "windows"}} {
		dir := t.TempDir()
		tf := write(t, dir, "t.yaml", tmpl, 0o644)
		for _, os := range present {
			ext := ".tar.gz"
			if os == "windows" {
				ext = ".zip"
			}
			write(t, dir, "a_"+os+ext, os, 0o644)
		}
		var out bytes.Buffer
		if err := run([]string{"manifest", "-template", tf, "-tag", "v1", "-dir", dir, "-partial"}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if n := strings.Count(got, "  - selector:"); n != len(present) || strings.Contains(got, missingSha) {
			t.Errorf("%v present: %d platforms in\n%s", present, n, got)
		}
		for _, os := range present {
			if !strings.Contains(got, "{os: "+os+"}}\n    uri: https://example.invalid/v1/a_"+os) {
				t.Errorf("%v present: %s missing or malformed in\n%s", present, os, got)
			}
		}
	}
}

// The caveats krew prints after an install say what a user's cluster needs: the kernel, the Pod Security level of
// the agent namespace, the RBAC (with the README section that holds the ClusterRole) and the completion shim.
func TestCaveatsSayWhatAUserNeeds(t *testing.T) {
	tmpl, err := os.ReadFile("../../.krew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, caveats, ok := strings.Cut(string(tmpl), "\n  caveats: |\n")
	caveats, _, _ = strings.Cut(caveats, "\n  platforms:")
	if !ok {
		t.Fatal(".krew.yaml has no caveats")
	}
	for _, want := range []string{"Linux 5.10+", "BTF", "amd64 or arm64", `Pod Security level "privileged"`,
		"pod-security.kubernetes.io/enforce=privileged", "RBAC", "pods/exec", "jobs", "deploy/rbac.yaml", "kubectl swoll image",
		"kubectl_complete-swoll", "#rbac-and-pod-security"} {
		if !strings.Contains(caveats, want) {
			t.Errorf("the caveats do not say %q:\n%s", want, caveats)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "\n## RBAC and Pod Security\n") {
		t.Error("the caveats link to the README's section #rbac-and-pod-security, which README.md lacks")
	}
}
