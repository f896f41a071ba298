package syscalls

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The cross-checks below read golang.org/x/sys/unix's generated constant files as text rather
// than importing the package, because x/sys/unix only compiles its linux/amd64 constants on
// linux/amd64 (and so on), while these tests must check both tables on any host.

func xsysUnixDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
	if err != nil {
		t.Fatalf("locating golang.org/x/sys with go list: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("golang.org/x/sys is not in the module cache (run go mod download)")
	}
	return filepath.Join(dir, "unix")
}

// scanMatches returns the submatches of re on every matching line of path.
func scanMatches(t *testing.T, path string, re *regexp.Regexp) [][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var matches [][]string
	for _, line := range strings.Split(string(raw), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			matches = append(matches, m)
		}
	}
	if len(matches) == 0 {
		t.Fatalf("%s: nothing matched %s", path, re)
	}
	return matches
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNumbersMatchXSys(t *testing.T) {
	dir := xsysUnixDir(t)
	sysnum := regexp.MustCompile(`^\s*SYS_([A-Z0-9_]+)\s*=\s*(\d+)\s*$`)
	for _, a := range Arches {
		tab := mustTable(t, a)
		consts := map[string]int{}
		for _, m := range scanMatches(t, filepath.Join(dir, "zsysnum_linux_"+string(a)+".go"), sysnum) {
			consts[m[1]] = atoi(t, m[2])
		}
		delete(consts, "ARCH_SPECIFIC_SYSCALL") // start of a number range, not a call
		for upper, nr := range consts {
			name := strings.ToLower(upper)
			s, ok := tab.ByName(name)
			if !ok {
				t.Errorf("%s: x/sys has %s = %d, the table does not", a, name, nr)
				continue
			}
			if s.Nr != nr {
				t.Errorf("%s: %s is %d, x/sys says %d", a, name, s.Nr, nr)
			}
		}
		if got := len(tab.All()); got != len(consts) {
			t.Errorf("%s: table has %d calls, x/sys %d", a, got, len(consts))
		}
	}
}

func TestErrnoNamesMatchXSys(t *testing.T) {
	errLine := regexp.MustCompile(`^\s*\{(\d+), "(E[A-Z0-9]+)", `)
	for _, a := range Arches {
		path := filepath.Join(xsysUnixDir(t), "zerrors_linux_"+string(a)+".go")
		byNum := map[int]string{}
		for _, m := range scanMatches(t, path, errLine) {
			byNum[atoi(t, m[1])] = m[2]
		}
		if len(byNum) < 130 {
			t.Fatalf("%s: only %d errno names parsed", path, len(byNum))
		}
		for n, name := range byNum {
			if n > 133 { // x/sys lists numbers Linux does not define
				continue
			}
			want := name
			if n == 95 {
				want = "EOPNOTSUPP" // x/sys prefers the ENOTSUP alias
			}
			if got := ErrnoName(n); got != want {
				t.Errorf("%s: errno %d is %s, x/sys says %s", a, n, got, name)
			}
		}
	}
}
