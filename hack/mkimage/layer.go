package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// epoch is every entry's mtime: the same inputs give byte-identical layers, digests and tarballs.
var epoch = time.Unix(0, 0).UTC()

type tarEntry struct {
	hdr  tar.Header
	data []byte
}

// layerTar renders the spec as one uncompressed tar stream with entries sorted by path (parents first), owned by
// root, with fixed mtimes. File modes keep the source's permission bits.
func layerTar(s *spec) ([]byte, error) {
	var entries []tarEntry
	for _, d := range s.allDirs() {
		mode := int64(0o755)
		if d == "/tmp" {
			mode = 0o1777
		}
		entries = append(entries, tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: mode}})
	}
	for _, f := range s.files {
		st, err := os.Stat(f.src)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.dst, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("file %s: %s is not a regular file", f.dst, f.src)
		}
		data, err := os.ReadFile(f.src)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.dst, err)
		}
		entries = append(entries, tarEntry{
			hdr:  tar.Header{Typeflag: tar.TypeReg, Name: f.dst[1:], Mode: int64(st.Mode().Perm()), Size: int64(len(data))},
			data: data,
		})
	}
	for _, l := range s.links {
		entries = append(entries, tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: l.dst[1:], Linkname: l.target, Mode: 0o777}})
	}
	sort.Slice(entries, func(i, j int) bool {
		return strings.TrimSuffix(entries[i].hdr.Name, "/") < strings.TrimSuffix(entries[j].hdr.Name, "/")
	})

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range entries {
		h := &entries[i].hdr
		h.ModTime, h.Uname, h.Gname, h.Format = epoch, "root", "root", tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing %s: %w", h.Name, err)
		}
		if _, err := tw.Write(entries[i].data); err != nil {
			return nil, fmt.Errorf("writing %s: %w", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing layer: %w", err)
	}
	return buf.Bytes(), nil
}

func layerOf(s *spec) (v1.Layer, error) {
	raw, err := layerTar(s)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	return layer, nil
}
