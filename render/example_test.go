package render_test

import (
	"encoding/json"
	"os"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/render"
)

// Print an event as kubectl swoll trace -o cli does: a failed call shows -1 and its errno, as in strace.
func ExampleAppendEvent() {
	var ev event.Event
	line := `{"syscall":{"nr":257,"name":"openat"},"start":1000,"finish":13000,"pid":4242,"comm":"nginx","error":"ENOENT","return":-2,"container":{"pod":"web-7d9f","name":"nginx","namespace":"shop"},"args":{"dirfd":"AT_FDCWD","pathname":"/etc/x","flags":"O_RDONLY"}}`
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		panic(err)
	}
	_, _ = os.Stdout.Write(render.AppendEvent(nil, &ev))
	// Output:
	// nginx.web-7d9f.shop: [nginx/4242] (ENOENT) openat(dirfd=AT_FDCWD, pathname="/etc/x", flags=O_RDONLY) = -1 <12.0µs>
}
