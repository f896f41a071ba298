package syscalls

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGoldenTables keeps a readable listing of each table under review: any change to a
// number, name, class or parameter shows up as a diff of testdata/<arch>.golden.
// Regenerate with: go test ./syscalls -run Golden -update
func TestGoldenTables(t *testing.T) {
	for _, a := range Arches {
		var b strings.Builder
		for _, s := range mustTable(t, a).All() {
			params := make([]string, len(s.Params))
			for i, p := range s.Params {
				params[i] = p.Name + ":" + p.Type.String()
				if p.Set != "" {
					params[i] += "." + p.Set
				}
			}
			fmt.Fprintf(&b, "%d\t%s\t%s/%s\t(%s)\n", s.Nr, s.Name, s.Class, s.Group, strings.Join(params, ", "))
		}
		path := filepath.Join("testdata", string(a)+".golden")
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./syscalls -run Golden -update)", err)
		}
		if got := b.String(); got != string(want) {
			gotLines, wantLines := strings.Split(got, "\n"), strings.Split(string(want), "\n")
			for i := 0; i < len(gotLines) || i < len(wantLines); i++ {
				var g, w string
				if i < len(gotLines) {
					g = gotLines[i]
				}
				if i < len(wantLines) {
					w = wantLines[i]
				}
				if g != w {
					t.Fatalf("%s differs at line %d:\n got  %s\n want %s\n(run go test ./syscalls -run Golden -update if intended)", path, i+1, g, w)
				}
			}
		}
	}
}
