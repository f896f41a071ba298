package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/promtest"
	"github.com/swoll-dev/swoll/plugin/tally"
)

func table() *tally.Table {
	t := tally.New()
	c := &event.Container{Namespace: "shop", Pod: "web-1", Name: "web"}
	for range 1000 {
		t.AddEvent(&event.Event{Syscall: event.Syscall{Name: "openat", Class: "FileSystem", Group: "Files"}, Error: "ENOENT",
			Start: 1e9, Finish: 1e9 + 1500, Node: "n1", Container: c})
	}
	t.AddSnapshot(&event.Snapshot{Node: "n2", From: 1e9, To: 2e9, Overflow: 4, Rows: []event.Count{{
		Syscall: event.Syscall{Name: "openat", Class: "FileSystem", Group: "Files"}, Error: "OK", Calls: 500, TimeNs: 500 * 3000,
		Hist: []uint64{11: 500}, Container: c}}})
	t.AddNotice(&event.Notice{Kind: event.NoticeLost, Node: "n1", Lost: 2})
	return t
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func TestExposition(t *testing.T) {
	s, err := Serve("127.0.0.1:0", table(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	body := scrape(t, "http://"+s.Addr()+"/metrics")
	for _, want := range []string{
		`swoll_node_metrics_syscall_count{class="FileSystem",container="web",err="ENOENT",group="Files",namespace="shop",pod="web-1",syscall="sys_openat"} 1000`,
		`swoll_node_metrics_syscall_count{class="FileSystem",container="web",err="OK",group="Files",namespace="shop",pod="web-1",syscall="sys_openat"} 500`,
		`swoll_node_metrics_syscall_duration_seconds_bucket{class="FileSystem",container="web",err="ENOENT",group="Files",namespace="shop",pod="web-1",syscall="sys_openat",le="1.024e-06"} 0`,
		`swoll_node_metrics_syscall_duration_seconds_bucket{class="FileSystem",container="web",err="ENOENT",group="Files",namespace="shop",pod="web-1",syscall="sys_openat",le="4.096e-06"} 1000`,
		`swoll_node_metrics_syscall_duration_seconds_count{class="FileSystem",container="web",err="OK",group="Files",namespace="shop",pod="web-1",syscall="sys_openat"} 500`,
		`swoll_node_metrics_lost_events_total{node="n1",reason="ring_full"} 2`,
		`swoll_node_metrics_lost_events_total{node="n2",reason="counter_table_full"} 4`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("no line %s in\n%s", want, body)
		}
	}
	promtest.CheckMetrics(t, body)

	page := scrape(t, "http://"+s.Addr()+"/metrics/charts")
	if !strings.Contains(page, `"pod:shop/web-1"`) || !strings.Contains(page, `swollLive = "charts/data.json"`) {
		t.Errorf("the chart page lacks its data or its refresh URL")
	}
	data := scrape(t, "http://"+s.Addr()+"/metrics/charts/data.json")
	if !strings.Contains(data, `"calls":1500`) {
		t.Errorf("data.json: %s", data)
	}
}

func TestServeRefusesABadAddress(t *testing.T) {
	if _, err := Serve("not-an-address", tally.New(), "x"); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Errorf("Serve(bad) = %v", err)
	}
}

func TestBuckets(t *testing.T) {
	var h [event.HistBuckets]uint64
	h[9], h[10], h[31] = 1, 2, 4
	b := Buckets(&h)
	if b[1.024e-6] != 1 || b[4.096e-6] != 3 || b[float64(uint64(1)<<30)/1e9] != 3 {
		t.Errorf("buckets %v", b)
	}
}
