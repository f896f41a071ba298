package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

// shaSource gives the sha256 of the archive a release URI names.
type shaSource func(uri string) (string, error)

// archiveSums hashes the archive in dir named like the URI's last element.
func archiveSums(dir string) shaSource {
	return func(uri string) (string, error) {
		data, err := os.ReadFile(filepath.Join(dir, path.Base(uri)))
		if err != nil {
			return "", fmt.Errorf("the archive for %s: %w", uri, err)
		}
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:]), nil
	}
}

// manifestSums looks URIs up in an existing krew manifest.
func manifestSums(file string) (shaSource, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var m struct {
		Spec struct {
			Platforms []struct{ URI, Sha256 string }
		}
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sums := map[string]string{}
	for _, p := range m.Spec.Platforms {
		sums[p.URI] = p.Sha256
	}
	return func(uri string) (string, error) {
		if s, ok := sums[uri]; ok {
			return s, nil
		}
		return "", fmt.Errorf("%s has no platform with uri %s", file, uri)
	}, nil
}

// render executes a krew-release-bot template: .TagName is the tag, and addURIAndSha renders its URL argument (a
// template of its own) with the tag and writes the uri and sha256 lines, indented for a platform entry.
func render(text, tag string, sum shaSource) (string, error) {
	data := struct{ TagName string }{tag}
	funcs := template.FuncMap{
		"addURIAndSha": func(urlTemplate, tag string) (string, error) {
			t, err := template.New("uri").Option("missingkey=error").Parse(urlTemplate)
			if err != nil {
				return "", err
			}
			var uri bytes.Buffer
			if err := t.Execute(&uri, struct{ TagName string }{tag}); err != nil {
				return "", err
			}
			s, err := sum(uri.String())
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri.String(), s), nil
		},
	}
	t, err := template.New("krew").Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return "", err
	}
	return out.String(), nil
}

// missingSha marks, in a partial rendering, a platform whose archive was not built.
const missingSha = "(no archive)"

func orMissing(sum shaSource) shaSource {
	return func(uri string) (string, error) {
		if s, err := sum(uri); err == nil {
			return s, nil
		}
		return missingSha, nil
	}
}

// dropMissing removes the entries of spec.platforms (the manifest's last list: items start with "  - ") that
// carry missingSha.
func dropMissing(manifest string) string {
	head, list, ok := strings.Cut(manifest, "\n  platforms:\n")
	if !ok {
		return manifest
	}
	var items []string
	for _, line := range strings.SplitAfter(list, "\n") {
		if strings.HasPrefix(line, "  - ") || len(items) == 0 {
			items = append(items, "")
		}
		items[len(items)-1] += line
	}
	var out strings.Builder
	out.WriteString(head + "\n  platforms:\n")
	for _, item := range items {
		if !strings.Contains(item, "sha256: "+missingSha) {
			out.WriteString(item)
		}
	}
	return out.String()
}
