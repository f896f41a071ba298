package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeFile creates a local source file for an image and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

type layerFile struct {
	typ      byte
	mode     int64
	linkname string
	content  string
}

// readBack loads the tarball as a client would and returns its config and the files of its single layer.
func readBack(t *testing.T, path, tag string) (*v1.ConfigFile, map[string]layerFile) {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &ref)
	if err != nil {
		t.Fatalf("reading %s back as %s: %v", path, tag, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("got %d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d, want epoch and root", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files["/"+strings.TrimSuffix(h.Name, "/")] = layerFile{typ: h.Typeflag, mode: h.Mode, linkname: h.Linkname, content: string(data)}
	}
	return cf, files
}

func TestBuildImage(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "agent", "#!binary", 0o755)
	html := writeFile(t, dir, "index.html", "hello", 0o644)
	tests := []struct {
		name         string
		args         []string
		wantArch     string
		wantEntry    []string
		wantEnv      []string
		wantFiles    map[string]layerFile
		wantAbsent   []string
		wantErrSubst string
	}{
		{
			name:      "agent image: one binary, base dirs, default platform",
			args:      []string{"-entrypoint", "/swoll-agent", "/swoll-agent=" + bin},
			wantArch:  "amd64",
			wantEntry: []string{"/swoll-agent"},
			wantEnv:   []string{defaultPath},
			wantFiles: map[string]layerFile{
				"/swoll-agent": {typ: tar.TypeReg, mode: 0o755, content: "#!binary"},
				"/tmp":         {typ: tar.TypeDir, mode: 0o1777},
				"/proc":        {typ: tar.TypeDir, mode: 0o755},
				"/run":         {typ: tar.TypeDir, mode: 0o755},
			},
		},
		{
			name:      "arm64, links, env, nested dirs, source modes kept",
			args:      []string{"-platform", "linux/arm64", "-entrypoint", "/bin/web -port 80", "-env", "PATH=/bin", "-env", "A=b", "-link", "/bin/sh=busybox", "-dir", "/var/empty", "/srv/www/index.html=" + html, "/bin/web=" + bin},
			wantArch:  "arm64",
			wantEntry: []string{"/bin/web", "-port", "80"},
			wantEnv:   []string{"PATH=/bin", "A=b"},
			wantFiles: map[string]layerFile{
				"/bin/sh":             {typ: tar.TypeSymlink, mode: 0o777, linkname: "busybox"},
				"/srv/www/index.html": {typ: tar.TypeReg, mode: 0o644, content: "hello"},
				"/srv/www":            {typ: tar.TypeDir, mode: 0o755},
				"/var/empty":          {typ: tar.TypeDir, mode: 0o755},
			},
		},
		{name: "missing tag", args: []string{"/x=" + bin}, wantErrSubst: "-o and -t are required"},
		{name: "unsupported platform", args: []string{"-platform", "windows/amd64"}, wantErrSubst: "not supported"},
		{name: "relative destination", args: []string{"bin/x=" + bin}, wantErrSubst: "must be absolute"},
		{name: "missing source", args: []string{"/x=" + filepath.Join(dir, "nope")}, wantErrSubst: "no such file"},
		{name: "path twice", args: []string{"-link", "/x=y", "/x=" + bin}, wantErrSubst: "defined twice"},
		{name: "file arg without source", args: []string{"/x"}, wantErrSubst: "want /path/in/image=local/file"},
		{name: "bad env", args: []string{"-env", "NOVALUE", "/x=" + bin}, wantErrSubst: "want NAME=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "img.tar")
			tag := "localhost/test/img:v1"
			args := tt.args
			if tt.name != "missing tag" {
				args = append([]string{"-o", out, "-t", tag}, args...)
			}
			var stderr bytes.Buffer
			err := run(args, &stderr)
			if tt.wantErrSubst != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubst) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErrSubst)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v (stderr: %s)", err, stderr.String())
			}
			cf, files := readBack(t, out, tag)
			if cf.OS != "linux" || cf.Architecture != tt.wantArch {
				t.Errorf("platform = %s/%s, want linux/%s", cf.OS, cf.Architecture, tt.wantArch)
			}
			if !equal(cf.Config.Entrypoint, tt.wantEntry) {
				t.Errorf("entrypoint = %q, want %q", cf.Config.Entrypoint, tt.wantEntry)
			}
			if !equal(cf.Config.Env, tt.wantEnv) {
				t.Errorf("env = %q, want %q", cf.Config.Env, tt.wantEnv)
			}
			for p, want := range tt.wantFiles {
				if got, ok := files[p]; !ok || got != want {
					t.Errorf("%s = %+v (present %v), want %+v", p, got, ok, want)
				}
			}
		})
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "bin", "payload", 0o755)
	build := func(out string, order ...string) []byte {
		t.Helper()
		args := append([]string{"-o", out, "-t", "localhost/det:v1"}, order...)
		if err := run(args, io.Discard); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a := build(filepath.Join(dir, "a.tar"), "-link", "/bin/b=a", "-link", "/bin/c=a", "/bin/a="+bin, "/d="+bin)
	// Neither the source's mtime nor the order of the arguments may change the image.
	if err := os.Chtimes(bin, epoch.AddDate(10, 0, 0), epoch.AddDate(10, 0, 0)); err != nil {
		t.Fatal(err)
	}
	b := build(filepath.Join(dir, "b.tar"), "-link", "/bin/c=a", "-link", "/bin/b=a", "/d="+bin, "/bin/a="+bin)
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same inputs differ")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
