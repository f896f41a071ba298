package syscalls

import (
	"strconv"
	"testing"
)

func TestErrnoName(t *testing.T) {
	for _, tc := range []struct {
		e    int
		want string
	}{
		{0, "OK"},
		{1, "EPERM"},
		{2, "ENOENT"},
		{-2, "ENOENT"},
		{4, "EINTR"},
		{11, "EAGAIN"},
		{13, "EACCES"},
		{17, "EEXIST"},
		{22, "EINVAL"},
		{35, "EDEADLK"},
		{38, "ENOSYS"},
		{41, "E41"},
		{58, "E58"},
		{95, "EOPNOTSUPP"},
		{110, "ETIMEDOUT"},
		{111, "ECONNREFUSED"},
		{115, "EINPROGRESS"},
		{133, "EHWPOISON"},
		{134, "E134"},
		{512, "ERESTARTSYS"},
		{516, "ERESTART_RESTARTBLOCK"},
		{520, "E520"},
		{531, "ENOGRACE"},
		{532, "E532"},
		{4095, "E4095"},
	} {
		if got := ErrnoName(tc.e); got != tc.want {
			t.Errorf("ErrnoName(%d) = %q, want %q", tc.e, got, tc.want)
		}
	}
	for e := 1; e <= 133; e++ {
		if e == 41 || e == 58 {
			continue
		}
		if name := ErrnoName(e); name[0] != 'E' || name == "E"+strconv.Itoa(e) {
			t.Errorf("errno %d has no name (%q)", e, name)
		}
	}
}

func TestErrnoFromReturn(t *testing.T) {
	for _, tc := range []struct {
		ret   int64
		errno int
		isErr bool
	}{
		{0, 0, false},
		{3, 0, false},
		{-1, 1, true},
		{-2, 2, true},
		{-512, 512, true},
		{-4095, 4095, true},
		{-4096, 0, false},
		{-1 << 62, 0, false},
		{1 << 62, 0, false},
	} {
		errno, isErr := ErrnoFromReturn(tc.ret)
		if errno != tc.errno || isErr != tc.isErr {
			t.Errorf("ErrnoFromReturn(%d) = %d, %v; want %d, %v", tc.ret, errno, isErr, tc.errno, tc.isErr)
		}
	}
}

func TestErrnoByName(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"ENOENT", 2, true}, {"enoent", 2, true}, {" EACCES ", 13, true}, {"ECONNREFUSED", 111, true},
		{"EWOULDBLOCK", 11, true}, {"ENOTSUP", 95, true}, {"ERESTARTSYS", 512, true}, {"E4000", 4000, true},
		{"13", 13, true}, {"4095", 4095, true},
		{"", 0, false}, {"E", 0, false}, {"0", 0, false}, {"4096", 0, false}, {"-2", 0, false}, {"E+2", 0, false},
		{"ENOSUCH", 0, false}, {"OK", 0, false},
	} {
		got, ok := ErrnoByName(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ErrnoByName(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	for e := 1; e <= MaxErrno; e++ {
		if got, ok := ErrnoByName(ErrnoName(e)); !ok || got != e {
			t.Errorf("ErrnoByName(ErrnoName(%d) = %q) = %d, %v", e, ErrnoName(e), got, ok)
		}
	}
}
