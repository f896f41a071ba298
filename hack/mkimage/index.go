package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const mib = 1 << 20

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// platformSize is what one platform of an index costs: the bytes a node pulls (manifest, config, compressed
// layers) and the bytes it unpacks.
type platformSize struct {
	platform string
	digest   v1.Hash
	pulled   int64
	unpacked int64
}

func (p platformSize) String() string {
	return fmt.Sprintf("%-12s %s  pulled %5.1f MiB, unpacked %5.1f MiB", p.platform, p.digest,
		float64(p.pulled)/mib, float64(p.unpacked)/mib)
}

// runIndex is `mkimage index`: it combines single-platform image tarballs (from mkimage) into one multi-platform
// index, writes it as an OCI image layout, prints each platform's size on stderr and the index digest on stdout.
// The digest is a pure function of the tarballs, so it is known before anything is pushed.
func runIndex(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkimage index", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var out, tag string
	var maxMiB float64
	fs.StringVar(&out, "o", "", "output directory: an OCI image layout, replaced (required)")
	fs.StringVar(&tag, "t", "", "image reference with a tag, recorded as the layout's ref.name annotation (required)")
	fs.Float64Var(&maxMiB, "max-mib", 0, "fail when a platform pulls or unpacks more than this many MiB (0: no limit)")
	fs.Usage = func() {
		_, _ = fmt.Fprintln(stderr, "usage: mkimage index -o DIR -t REF [-max-mib N] image-amd64.tar image-arm64.tar ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if out == "" || tag == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("-o, -t and at least one image tarball are required")
	}
	ref, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	idx, sizes, err := buildIndex(fs.Args())
	if err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stderr, "%s  index %s\n", ref, digest)
	var tooBig []string
	for _, s := range sizes {
		_, _ = fmt.Fprintf(stderr, "  %s\n", s)
		if maxMiB > 0 && (float64(s.pulled) > maxMiB*mib || float64(s.unpacked) > maxMiB*mib) {
			tooBig = append(tooBig, s.platform)
		}
	}
	if len(tooBig) > 0 {
		return fmt.Errorf("%v: larger than %g MiB", tooBig, maxMiB)
	}
	if err := writeLayout(out, ref, idx); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, digest)
	return err
}

// buildIndex reads each tarball's single image and adds it to a Docker manifest list under the platform its
// config claims. The images keep their Docker media types, so the list uses the matching Docker type.
func buildIndex(tarballs []string) (v1.ImageIndex, []platformSize, error) {
	idx := mutate.IndexMediaType(empty.Index, types.DockerManifestList)
	var sizes []platformSize
	seen := map[string]string{}
	for _, path := range tarballs {
		img, err := tarball.ImageFromPath(path, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", path, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: config: %w", path, err)
		}
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		if prev, dup := seen[p.String()]; dup {
			return nil, nil, fmt.Errorf("%s and %s are both %s", prev, path, p.String())
		}
		seen[p.String()] = path
		size, err := sizeOf(img)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		size.platform = p.String()
		sizes = append(sizes, size)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, sizes, nil
}

func sizeOf(img v1.Image) (platformSize, error) {
	var s platformSize
	var err error
	if s.digest, err = img.Digest(); err != nil {
		return s, err
	}
	m, err := img.Manifest()
	if err != nil {
		return s, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return s, err
	}
	s.pulled = int64(len(raw)) + m.Config.Size
	layers, err := img.Layers()
	if err != nil {
		return s, err
	}
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return s, err
		}
		s.pulled += n
		rc, err := l.Uncompressed()
		if err != nil {
			return s, err
		}
		u, err := io.Copy(io.Discard, rc)
		_ = rc.Close()
		if err != nil {
			return s, fmt.Errorf("unpacking a layer: %w", err)
		}
		s.unpacked += u
	}
	return s, nil
}

// writeLayout replaces dir with an OCI image layout whose index.json names idx (annotated with its tag, as
// `crane push`, skopeo and containerd's importer expect).
func writeLayout(dir string, ref name.Tag, idx v1.ImageIndex) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing %s: %w", dir, err)
	}
	ann := map[string]string{refNameAnnotation: ref.String()}
	if err := p.AppendIndex(idx, layout.WithAnnotations(ann)); err != nil {
		return fmt.Errorf("writing %s: %w", dir, err)
	}
	return nil
}

// readLayout returns the one index a layout written by writeLayout holds, and the tag it was built as.
func readLayout(dir string) (v1.ImageIndex, string, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not an OCI image layout (run make image): %w", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		return nil, "", fmt.Errorf("%s: want exactly one image index in index.json, found %d entries", dir, len(m.Manifests))
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	return idx, m.Manifests[0].Annotations[refNameAnnotation], err
}
