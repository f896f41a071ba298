package main

import (
	"fmt"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// spec describes one image: what goes into its single layer and its runtime config.
type spec struct {
	files      []fileEntry
	links      []linkEntry
	dirs       []string
	entrypoint []string
	env        []string
	platform   v1.Platform
}

// fileEntry copies the local file src to the absolute image path dst.
type fileEntry struct{ dst, src string }

// linkEntry is a symlink at the absolute image path dst pointing at target (kept verbatim: may be relative).
type linkEntry struct{ dst, target string }

// baseDirs exist in every image: mount points runtimes expect, and /tmp for programs that need scratch space.
var baseDirs = []string{"/dev", "/etc", "/proc", "/run", "/sys", "/tmp"}

// supportedPlatforms are the platforms the image config may claim. A multi-platform index would build one image
// per entry and combine them; today an image has exactly one platform.
var supportedPlatforms = map[string]bool{"linux/amd64": true, "linux/arm64": true}

func parsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("platform %q: %w", s, err)
	}
	if !supportedPlatforms[p.OS+"/"+p.Architecture] {
		return v1.Platform{}, fmt.Errorf("platform %q is not supported (use linux/amd64 or linux/arm64)", s)
	}
	return *p, nil
}

// parseMapping splits "/dst=value" and checks that dst is a clean absolute path inside the image.
func parseMapping(kind, arg string) (dst, value string, err error) {
	dst, value, ok := strings.Cut(arg, "=")
	if !ok || value == "" {
		return "", "", fmt.Errorf("%s %q: want /path/in/image=%s", kind, arg, map[string]string{"file": "local/file", "link": "target"}[kind])
	}
	if err := checkImagePath(dst); err != nil {
		return "", "", fmt.Errorf("%s %q: %w", kind, arg, err)
	}
	return dst, value, nil
}

func checkImagePath(p string) error {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("image path %q must be absolute and clean, and not /", p)
	}
	return nil
}

func checkEnv(kv string) error {
	if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
		return fmt.Errorf("env %q: want NAME=value", kv)
	}
	return nil
}

// validate rejects a spec that would produce an ambiguous layer (one path defined twice).
func (s *spec) validate() error {
	seen := map[string]string{}
	claim := func(p, what string) error {
		if prev, ok := seen[p]; ok {
			return fmt.Errorf("%s is defined twice (%s and %s)", p, prev, what)
		}
		seen[p] = what
		return nil
	}
	for _, f := range s.files {
		if err := claim(f.dst, "file "+f.src); err != nil {
			return err
		}
	}
	for _, l := range s.links {
		if err := claim(l.dst, "link to "+l.target); err != nil {
			return err
		}
	}
	for _, d := range s.dirs {
		if err := checkImagePath(d); err != nil {
			return fmt.Errorf("dir: %w", err)
		}
		if what, ok := seen[d]; ok {
			return fmt.Errorf("%s is both a directory and a %s", d, what)
		}
	}
	for _, e := range s.env {
		if err := checkEnv(e); err != nil {
			return err
		}
	}
	return nil
}

// allDirs is every directory the layer needs: base dirs, explicit dirs and the parents of every entry, sorted.
func (s *spec) allDirs() []string {
	set := map[string]bool{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			set[d] = true
		}
	}
	for _, d := range append(append([]string{}, baseDirs...), s.dirs...) {
		set[d] = true
		addParents(d)
	}
	for _, f := range s.files {
		addParents(f.dst)
	}
	for _, l := range s.links {
		addParents(l.dst)
	}
	dirs := make([]string, 0, len(set))
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}
