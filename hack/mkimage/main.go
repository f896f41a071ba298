// mkimage builds a single-layer container image from local files, without a daemon or a registry, and writes it
// as a tarball that `ctr -n k8s.io images import` loads. The output is deterministic (fixed mtimes and owners,
// sorted entries), so the same inputs give the same image digest.
//
//	mkimage -o out.tar -t localhost/x:v1 [-platform linux/arm64] [-entrypoint "/bin/x -v"]
//	        [-env K=V]... [-link /bin/sh=busybox]... [-dir /data]... /dst=./local/file ...
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mkimage:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var out, tag, entrypoint, platform string
	var envs, links, dirs repeated
	fs.StringVar(&out, "o", "", "output tarball (required)")
	fs.StringVar(&tag, "t", "", "image reference, e.g. localhost/x:v1 (required)")
	fs.StringVar(&entrypoint, "entrypoint", "", "entrypoint, space separated")
	fs.StringVar(&platform, "platform", "linux/amd64", "OS/arch the image config claims (linux/amd64, linux/arm64)")
	fs.Var(&envs, "env", "environment variable NAME=value (repeatable)")
	fs.Var(&links, "link", "symlink /path=target (repeatable)")
	fs.Var(&dirs, "dir", "extra empty directory /path (repeatable)")
	fs.Usage = func() {
		_, _ = fmt.Fprintln(stderr, "usage: mkimage -o OUT.tar -t REF [flags] /dst=src ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := specFromFlags(out, tag, entrypoint, platform, envs, links, dirs, fs.Args())
	if err != nil {
		return err
	}
	img, err := buildImage(s)
	if err != nil {
		return err
	}
	return writeTarball(out, tag, img)
}

func specFromFlags(out, tag, entrypoint, platform string, envs, links, dirs, files []string) (*spec, error) {
	if out == "" || tag == "" {
		return nil, errors.New("-o and -t are required")
	}
	p, err := parsePlatform(platform)
	if err != nil {
		return nil, err
	}
	s := &spec{platform: p, entrypoint: strings.Fields(entrypoint), env: envs, dirs: dirs}
	for _, a := range files {
		dst, src, err := parseMapping("file", a)
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, fileEntry{dst: dst, src: src})
	}
	for _, a := range links {
		dst, target, err := parseMapping("link", a)
		if err != nil {
			return nil, err
		}
		s.links = append(s.links, linkEntry{dst: dst, target: target})
	}
	return s, nil
}
