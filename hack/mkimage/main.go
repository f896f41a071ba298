// mkimage builds container images from local files without a daemon, and publishes them without Docker.
//
// By default it builds a single-layer image and writes it as a tarball that `ctr -n k8s.io images import` loads.
// The output is deterministic (fixed mtimes and owners, sorted entries), so the same inputs give the same image
// digest. `mkimage index` combines such tarballs into a multi-platform index (an OCI image layout) whose digest is
// therefore known before any push; `mkimage push` uploads that index to a registry.
//
//	mkimage -o out.tar -t localhost/x:v1 [-platform linux/arm64] [-entrypoint "/bin/x -v"]
//	        [-env K=V]... [-link /bin/sh=busybox]... [-dir /data]... /dst=./local/file ...
//	mkimage index -o out.oci -t repo:v1 [-max-mib 20] amd64.tar arm64.tar     (prints the index digest)
//	mkimage push -layout out.oci host[:port]/path/repo      (tags it v1, prints repo@digest)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mkimage:", err)
		}
		os.Exit(2)
	}
}

// dispatch picks the subcommand: index, push, or (no subcommand) building one image.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "index":
			return runIndex(args[1:], stdout, stderr)
		case "push":
			return runPush(ctx, args[1:], stdout, stderr)
		}
	}
	return run(args, stderr)
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
