package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// runPush is `mkimage push`: it uploads the index of a layout written by `mkimage index` (every platform, digest
// unchanged) to a repository, tags it as it was built (the tag of the layout's reference), checks that the registry serves the very digest computed
// locally, and prints REPO@DIGEST on stdout. Credentials, when the registry wants them, come from REGISTRY_USERNAME
// and REGISTRY_PASSWORD, else from the docker config (docker login, crane auth login); loopback registries are spoken to over plain HTTP.
func runPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkimage push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dir string
	var insecure bool
	fs.StringVar(&dir, "layout", "", "OCI image layout written by mkimage index (required)")
	fs.BoolVar(&insecure, "insecure", false, "plain HTTP, for a registry that is not on loopback")
	fs.Usage = func() {
		_, _ = fmt.Fprintln(stderr, "usage: mkimage push -layout DIR [-insecure] REGISTRY[:PORT]/REPOSITORY")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if dir == "" || fs.NArg() != 1 {
		fs.Usage()
		return errors.New("-layout and one repository are required")
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(fs.Arg(0), append(opts, name.StrictValidation)...)
	if err != nil {
		return fmt.Errorf("repository %q: %w", fs.Arg(0), err)
	}
	idx, built, err := readLayout(dir)
	if err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	byDigest := repo.Digest(digest.String())
	ropts := []remote.Option{remote.WithContext(ctx), credentials()}
	if err := remote.WriteIndex(byDigest, idx, ropts...); err != nil {
		return fmt.Errorf("pushing %s: %w", byDigest, err)
	}
	if ref, err := name.NewTag(built); err == nil {
		t := repo.Tag(ref.TagStr())
		if err := remote.Tag(t, idx, ropts...); err != nil {
			return fmt.Errorf("tagging %s: %w", t, err)
		}
	}
	got, err := remote.Head(byDigest, ropts...)
	if err != nil {
		return fmt.Errorf("checking %s after the push: %w", byDigest, err)
	}
	if got.Digest != digest {
		return fmt.Errorf("the registry serves %s as %s, want %s", byDigest, got.Digest, digest)
	}
	_, err = fmt.Fprintln(stdout, byDigest)
	return err
}

// credentials are REGISTRY_USERNAME and REGISTRY_PASSWORD when set (CI secrets, a token), else whatever the
// docker config holds for the registry (anonymous when nothing).
func credentials() remote.Option {
	user, pass := os.Getenv("REGISTRY_USERNAME"), os.Getenv("REGISTRY_PASSWORD")
	if user == "" && pass == "" {
		return remote.WithAuthFromKeychain(authn.DefaultKeychain)
	}
	return remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}))
}
