package event_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/swoll-dev/swoll/event"
)

// Read the output of kubectl swoll trace -o json (or an agent's stream): each line is an event, or a notice
// about the stream itself. Arguments are keyed by the man page's parameter names.
func Example() {
	out := `{"syscall":{"nr":257,"name":"openat","class":"FileSystem","group":"Files"},"start":1700000000000000000,"finish":1700000000000012000,"pid":4242,"tid":4242,"container_pid":7,"uid":0,"gid":0,"comm":"nginx","session":"x1","error":"ENOENT","return":-2,"pid_ns":4026532,"uts_ns":4026531,"mount_ns":4026530,"container":{"pod":"web-7d9f","name":"nginx","namespace":"shop"},"node":"worker-1","args":{"dirfd":"AT_FDCWD","pathname":"/etc/x","flags":"O_RDONLY"}}
{"notice":{"kind":"lost","node":"worker-1","lost":12,"lost_total":12}}
`
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l event.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			panic(err)
		}
		switch {
		case l.Notice != nil:
			fmt.Printf("%s: %s %d\n", l.Notice.Node, l.Notice.Kind, l.Notice.Lost)
		case l.Event != nil:
			var args struct {
				Pathname string `json:"pathname"`
			}
			_ = json.Unmarshal(l.Args, &args)
			fmt.Printf("%s/%s %s(%s) = %d %s in %dµs\n", l.Container.Namespace, l.Container.Pod, l.Syscall.Name,
				args.Pathname, l.Return, l.Error, (l.Finish-l.Start)/1000)
		}
	}
	// Output:
	// shop/web-7d9f openat(/etc/x) = -2 ENOENT in 12µs
	// worker-1: lost 12
}
