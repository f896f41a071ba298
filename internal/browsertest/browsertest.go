// Package browsertest opens a page in headless Chromium (Debian's chromium): it returns the DOM after the
// page's scripts ran and keeps a screenshot as a test artifact.
package browsertest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/internal/roottest"
)

// loadTimeout bounds one Chromium run (its first start on a busy two-core machine takes seconds).
const loadTimeout = 90 * time.Second

// Page is what a load found.
type Page struct {
	DOM string
	// Screenshot is the path of the PNG kept for the test.
	Screenshot string
}

// Open loads url in headless Chromium, with no network but loopback, twice: once to dump the DOM, once for a screenshot saved as
// artifacts/NAME.png. Where root tests are required (CI) a missing Chromium fails the test; elsewhere the
// test is skipped.
func Open(t testing.TB, url, artifacts, name string) Page {
	t.Helper()
	bin := ""
	for _, b := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if roottest.Required() {
			t.Fatal("headless Chromium (Debian's chromium) is needed")
		}
		t.Skip("chromium not installed")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
		"--disable-background-networking", "--disable-component-update", "--user-data-dir=" + profile,
		"--window-size=1400,1900", "--virtual-time-budget=5000", "--hide-scrollbars",
		// no network but loopback: a page that needs anything from outside fails to draw
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"}
	run := func(extra ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(append(base, extra...), url)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %s: %v\n%s", strings.Join(extra, " "), err, tail(errOut.String()))
		}
		if strings.Contains(errOut.String(), "Uncaught") {
			t.Errorf("the page raised an error:\n%s", tail(errOut.String()))
		}
		return out.String()
	}
	p := Page{Screenshot: filepath.Join(artifacts, name+".png")}
	p.DOM = run("--dump-dom", "--enable-logging=stderr", "--v=0")
	run("--screenshot=" + p.Screenshot)
	if fi, err := os.Stat(p.Screenshot); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", p.Screenshot, err)
	}
	t.Logf("screenshot: %s", p.Screenshot)
	return p
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}
