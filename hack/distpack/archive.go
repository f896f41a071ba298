package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// epoch is every member's mtime. zip cannot say 1970 (MS-DOS dates start in 1980), so both formats use 1980.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// member is one file of an archive: its name inside and the local file it copies.
type member struct{ name, src string }

// writeArchive writes files (sorted by name) as a .tar.gz or .zip, keeping only the executable bit of each
// source's mode: the archive depends on the files' contents and nothing else.
func writeArchive(out string, files []member) error {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	var err error
	switch {
	case strings.HasSuffix(out, ".tar.gz"):
		err = writeTarGz(&buf, files)
	case strings.HasSuffix(out, ".zip"):
		err = writeZip(&buf, files)
	default:
		return fmt.Errorf("%s: want a .tar.gz or .zip name", out)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// read returns a member's contents and its mode in the archive (0755 when the source is executable, else 0644).
func (m member) read() ([]byte, int64, error) {
	st, err := os.Stat(m.src)
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", m.src)
	}
	data, err := os.ReadFile(m.src)
	if err != nil {
		return nil, 0, err
	}
	if st.Mode().Perm()&0o111 != 0 {
		return data, 0o755, nil
	}
	return data, 0o644, nil
}

func writeTarGz(buf *bytes.Buffer, files []member) error {
	zw, err := gzip.NewWriterLevel(buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		data, mode, err := f.read()
		if err != nil {
			return err
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: mode, Size: int64(len(data)), ModTime: epoch,
			Uname: "root", Gname: "root", Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func writeZip(buf *bytes.Buffer, files []member) error {
	zw := zip.NewWriter(buf)
	for _, f := range files {
		data, mode, err := f.read()
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: epoch}
		h.SetMode(os.FileMode(mode))
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}
