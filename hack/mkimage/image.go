package main

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// defaultPath is the PATH of every image unless -env overrides it.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// buildImage assembles the single-layer image for one platform. Container runtimes refuse an image whose config
// has no OS/architecture, which is why the platform is always set.
func buildImage(s *spec) (v1.Image, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	layer, err := layerOf(s)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("adding layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = s.platform.OS, s.platform.Architecture, s.platform.Variant
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = s.entrypoint
	cf.Config.Env = withDefaultPath(s.env)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting config: %w", err)
	}
	return img, nil
}

func withDefaultPath(env []string) []string {
	for _, kv := range env {
		if len(kv) >= 5 && kv[:5] == "PATH=" {
			return env
		}
	}
	return append([]string{defaultPath}, env...)
}

// writeTarball writes a docker-save style tarball (what `ctr images import` and `docker load` read).
func writeTarball(out, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}
