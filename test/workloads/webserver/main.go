// webserver is the e2e suite's traced workload: every request opens a file (openat) or dials an address
// (connect), so a test can cause a known syscall on demand with `wget -qO- http://localhost:PORT/...`.
//
//	GET /                 serves ROOT/index.html (opened afresh on every request)
//	GET /open?path=/p     opens /p and returns its first 64 KiB
//	GET /connect?addr=h:p dials TCP h:p and closes the connection
//	GET /healthz          "ok" without touching the filesystem (probes do not add openat noise)
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	port := flag.String("port", envOr("WEBSERVER_PORT", "8080"), "TCP port to listen on (env WEBSERVER_PORT)")
	root := flag.String("root", envOr("WEBSERVER_ROOT", "/srv"), "directory holding index.html (env WEBSERVER_ROOT)")
	flag.Parse()
	srv := &http.Server{Addr: ":" + *port, Handler: newMux(*root), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("webserver listening on :%s, serving %s", *port, *root)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "webserver:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
