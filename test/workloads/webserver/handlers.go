package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

const maxBody = 64 << 10

func newMux(root string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { serveFile(w, filepath.Join(root, "index.html")) })
	mux.HandleFunc("GET /open", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("path")
		if p == "" {
			http.Error(w, "missing ?path=", http.StatusBadRequest)
			return
		}
		serveFile(w, p)
	})
	mux.HandleFunc("GET /connect", func(w http.ResponseWriter, r *http.Request) {
		addr := r.URL.Query().Get("addr")
		if addr == "" {
			http.Error(w, "missing ?addr=host:port", http.StatusBadRequest)
			return
		}
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_ = c.Close()
		_, _ = io.WriteString(w, "connected\n")
	})
	return mux
}

// serveFile opens p on every call (the point of this workload is the openat) and copies at most maxBody bytes.
func serveFile(w http.ResponseWriter, p string) {
	f, err := os.Open(p)
	if err != nil {
		status := http.StatusInternalServerError
		if os.IsNotExist(err) {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
		return
	}
	defer func() { _ = f.Close() }()
	_, _ = io.Copy(w, io.LimitReader(f, maxBody))
}
