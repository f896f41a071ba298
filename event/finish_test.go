package event

import "testing"

func TestFinishOf(t *testing.T) {
	tests := []struct {
		line string
		want int64
		ok   bool
	}{
		{`{"syscall":{"nr":0,"name":"read","class":"a","group":"b"},"start":1,"finish":1700000000001012345,"pid":1}`, 1700000000001012345, true},
		{`{"syscall":{},"start":1,"finish":-5}`, -5, true},
		{`{"syscall":{},"start":1,"finish": 7}`, 7, true},
		{`{"notice":{"kind":"ready"}}`, 0, false},
		{`{"finish":}`, 0, false},
		{``, 0, false},
	}
	for _, tt := range tests {
		got, ok := FinishOf([]byte(tt.line))
		if got != tt.want || ok != tt.ok {
			t.Errorf("FinishOf(%s) = %d, %v; want %d, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func BenchmarkFinishOf(b *testing.B) {
	line := []byte(`{"syscall":{"nr":257,"name":"openat","class":"FileSystem","group":"Files"},"start":1700000000001000000,"finish":1700000000001012345,"pid":4242,"tid":4243,"container_pid":12,"uid":1000,"gid":1000,"comm":"curl","session":"s1","error":"OK","return":3,"pid_ns":4026531836,"uts_ns":4026531838,"mount_ns":4026531841,"node":"node-1","args":{"dirfd":"AT_FDCWD","pathname":"/etc/hosts","flags":"O_RDONLY|O_CLOEXEC"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := FinishOf(line); !ok {
			b.Fatal("no finish")
		}
	}
}
