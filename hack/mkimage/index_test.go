package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// platformTarballs builds one single-platform image tarball per platform, each holding a different payload.
func platformTarballs(t *testing.T, dir string, platforms ...string) []string {
	t.Helper()
	var tars []string
	for _, p := range platforms {
		bin := writeFile(t, dir, strings.ReplaceAll(p, "/", "-")+".bin", "payload for "+p, 0o755)
		out := filepath.Join(dir, strings.ReplaceAll(p, "/", "-")+".tar")
		if err := run([]string{"-o", out, "-t", "localhost/agent:v1", "-platform", p, "-entrypoint", "/agent", "/agent=" + bin}, io.Discard); err != nil {
			t.Fatal(err)
		}
		tars = append(tars, out)
	}
	return tars
}

func TestIndex(t *testing.T) {
	dir := t.TempDir()
	tars := platformTarballs(t, dir, "linux/amd64", "linux/arm64")
	index := func(out string, extra ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		args := append([]string{"index", "-o", out, "-t", "localhost/agent:v1"}, extra...)
		err := dispatch(context.Background(), args, &stdout, &stderr)
		return strings.TrimSpace(stdout.String()), stderr.String(), err
	}
	digest, summary, err := index(filepath.Join(dir, "a.oci"), tars...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "pulled", "unpacked", digest} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
	idx, tag, err := readLayout(filepath.Join(dir, "a.oci"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); d.String() != digest || tag != "localhost/agent:v1" {
		t.Errorf("layout holds %s tagged %q; printed %s", d, tag, digest)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		got = append(got, d.Platform.String())
	}
	if strings.Join(got, " ") != "linux/amd64 linux/arm64" {
		t.Errorf("platforms %v", got)
	}
	// the digest is a function of the inputs alone: known before any push
	if again, _, err := index(filepath.Join(dir, "b.oci"), tars...); err != nil || again != digest {
		t.Errorf("second build: %s %v, want %s", again, err, digest)
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"over the size limit", append([]string{"-max-mib", "0.0001"}, tars...), "larger than"},
		{"one platform twice", []string{tars[0], tars[0]}, "are both linux/amd64"},
		{"no tarball", nil, "at least one image tarball"},
		{"not a tarball", []string{filepath.Join(dir, "none.tar")}, "reading"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := index(filepath.Join(dir, "c.oci"), tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// TestPush pushes to go-containerregistry's in-memory registry: the real one is exercised by the e2e suite.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	tars := platformTarballs(t, dir, "linux/amd64", "linux/arm64")
	var digest bytes.Buffer
	layoutDir := filepath.Join(dir, "agent.oci")
	if err := dispatch(context.Background(), append([]string{"index", "-o", layoutDir, "-t", "localhost/agent:v1"}, tars...), &digest, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := dispatch(context.Background(), []string{"push", "-layout", layoutDir, host + "/team/agent"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := host + "/team/agent@" + strings.TrimSpace(digest.String())
	if strings.TrimSpace(out.String()) != want {
		t.Errorf("push printed %q, want %q", out.String(), want)
	}
	// pullable by digest and by the tag it was built as, both the same index
	for _, ref := range []string{want, host + "/team/agent:v1"} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(r)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if desc.Digest.String() != strings.TrimSpace(digest.String()) || !desc.MediaType.IsIndex() {
			t.Errorf("%s: %s %s", ref, desc.MediaType, desc.Digest)
		}
	}
	if err := dispatch(context.Background(), []string{"push", "-layout", filepath.Join(dir, "none"), host + "/x"}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "not an OCI image layout") {
		t.Errorf("missing layout: %v", err)
	}
}
