// distpack makes the release artifacts of `make dist` reproducible: the plugin archives and the krew manifest.
//
//	distpack archive -o kubectl-swoll_v1_linux_amd64.tar.gz NAME=local/file ...
//	    a .tar.gz or .zip with fixed mtimes, owners and order: the same files give the same bytes (and sha256).
//	distpack manifest -template .krew.yaml -tag v1 -dir _output/dist [-sha-from plugins.yaml]
//	    renders the krew-release-bot template the way the bot does ({{ .TagName }}, {{addURIAndSha URL .TagName}}),
//	    taking each sha256 from the archive in -dir named like the URI's last element, or from the manifest given
//	    with -sha-from (to check that a committed manifest is the template's rendering).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "distpack:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: distpack archive|manifest [flags]")
	}
	switch args[0] {
	case "archive":
		return runArchive(args[1:], stderr)
	case "manifest":
		return runManifest(args[1:], stdout, stderr)
	default:
		return fmt.Errorf("unknown subcommand %q: want archive or manifest", args[0])
	}
}

func runArchive(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("distpack archive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output archive: NAME.tar.gz or NAME.zip (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("usage: distpack archive -o OUT.tar.gz|OUT.zip NAME=local/file")
	}
	var files []member
	for _, a := range fs.Args() {
		name, src, ok := strings.Cut(a, "=")
		if !ok || name == "" || src == "" {
			return fmt.Errorf("%q: want NAME=local/file", a)
		}
		files = append(files, member{name: name, src: src})
	}
	return writeArchive(*out, files)
}

func runManifest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("distpack manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tmpl := fs.String("template", ".krew.yaml", "krew-release-bot template")
	tag := fs.String("tag", "", "release tag, e.g. v0.1.0 (required)")
	dir := fs.String("dir", "", "directory holding the archives the URIs name")
	shaFrom := fs.String("sha-from", "", "take sha256 values from this manifest (by URI) instead of archives")
	partial := fs.Bool("partial", false, "leave out the platforms whose archive is not in -dir (a dist of some platforms)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tag == "" || (*dir == "") == (*shaFrom == "") || fs.NArg() != 0 {
		return errors.New("usage: distpack manifest -template T -tag TAG (-dir DIR | -sha-from MANIFEST)")
	}
	text, err := os.ReadFile(*tmpl)
	if err != nil {
		return err
	}
	sum := archiveSums(*dir)
	if *partial {
		sum = orMissing(sum)
	}
	if *shaFrom != "" {
		if sum, err = manifestSums(*shaFrom); err != nil {
			return err
		}
	}
	out, err := render(string(text), *tag, sum)
	if err != nil {
		return fmt.Errorf("%s: %w", *tmpl, err)
	}
	if *partial {
		out = dropMissing(out)
	}
	_, err = io.WriteString(stdout, manifestHeader+dropLeadingComments(out))
	return err
}

// manifestHeader replaces the template's own leading comment in a rendered manifest.
const manifestHeader = `# krew plugin manifest, rendered from .krew.yaml by make dist (hack/distpack) with the sha256 of each archive.
# Do not edit: edit .krew.yaml. hack/krew-check.sh validates it and checks that it is the template's rendering.
`

// dropLeadingComments removes the comment lines a YAML document starts with.
func dropLeadingComments(s string) string {
	for strings.HasPrefix(s, "#") {
		_, rest, ok := strings.Cut(s, "\n")
		if !ok {
			return ""
		}
		s = rest
	}
	return s
}
