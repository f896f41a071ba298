package cmd

import (
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/internal/version"
)

func TestImage(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name       string
		digest     string
		args       []string
		wantCode   int
		wantOut    string
		wantErrSub string
	}{
		{name: "pinned", digest: digest, args: []string{"image"}, wantOut: version.AgentImageRepo + "@" + digest + "\n"},
		{name: "mirror", digest: digest, args: []string{"image", "--mirror", "registry.internal:5000/tools"},
			wantOut: "registry.internal:5000/tools/swoll-agent@" + digest + "\n"},
		{name: "unpinned build warns", args: []string{"image"}, wantOut: version.AgentImageRepo + ":v9.9.9\n",
			wantErrSub: "without its image digest"},
		{name: "mirror with a tag", digest: digest, args: []string{"image", "--mirror", "registry.internal/tools:v1"},
			wantCode: 1, wantErrSub: "no tag, no digest"},
		{name: "mirror with a digest", digest: digest, args: []string{"image", "--mirror", "r.internal/x@" + digest},
			wantCode: 1, wantErrSub: "no tag, no digest"},
		{name: "no arguments", digest: digest, args: []string{"image", "extra"}, wantCode: 1, wantErrSub: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(v, d string) { version.Version, version.AgentImageDigest = v, d }(version.Version, version.AgentImageDigest)
			version.Version, version.AgentImageDigest = "v9.9.9", tt.digest
			code, stdout, stderr := run(t, tt.args...)
			if code != tt.wantCode || (tt.wantCode == 0 && stdout != tt.wantOut) {
				t.Errorf("code %d stdout %q, want %d %q (stderr %q)", code, stdout, tt.wantCode, tt.wantOut, stderr)
			}
			if !strings.Contains(stderr, tt.wantErrSub) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.wantErrSub)
			}
			if tt.wantCode != 0 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("an input error must be one line, got %q", stderr)
			}
		})
	}
}

func TestVersionNamesTheImageByDigest(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	defer func(d string) { version.AgentImageDigest = d }(version.AgentImageDigest)
	version.AgentImageDigest = digest
	code, stdout, _ := run(t, "version")
	if code != 0 || !strings.Contains(stdout, "agent image: "+version.AgentImageRepo+"@"+digest+"\n") {
		t.Fatalf("version: %d %q", code, stdout)
	}
}
