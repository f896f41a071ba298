package decode

import "testing"

// TestAppendMode: a mode with its file type as strace's print_symbolic_mode_t prints it (st_mode, mknod).
func TestAppendMode(t *testing.T) {
	for _, tc := range []struct {
		mode uint64
		want string
	}{
		{0o40755, "S_IFDIR|0755"},
		{0o41777, "S_IFDIR|S_ISVTX|0777"}, // /tmp
		{0o104755, "S_IFREG|S_ISUID|0755"},
		{0o102755, "S_IFREG|S_ISGID|0755"},
		{0o107777, "S_IFREG|S_ISUID|S_ISGID|S_ISVTX|0777"},
		{0o106000, "S_IFREG|S_ISUID|S_ISGID|000"},
		{0o20666, "S_IFCHR|0666"},
		{0o120777, "S_IFLNK|0777"},
		{0o140755, "S_IFSOCK|0755"},
		{0o10600, "S_IFIFO|0600"},
		{0o60660, "S_IFBLK|0660"},
		{0o100000, "S_IFREG|000"},
		{0o100007, "S_IFREG|007"},
		{0o4755, "S_ISUID|0755"}, // no type: the special bits still by name
		{0o1000, "S_ISVTX|000"},
		{0o644, "0644"},
		{0o7, "007"},
		{0, "000"},
		{0o170600, "0170600"},           // a type strace has no name for: all in octal
		{0o171600, "0171600"},           // with special bits too
		{0o30644, "030644"},             // another unnamed type
		{0o1100644, "S_IFREG|01000644"}, // bits above the type, as strace: octal with the permissions
	} {
		if got := string(appendMode(nil, tc.mode)); got != tc.want {
			t.Errorf("appendMode(%#o) = %s, want %s", tc.mode, got, tc.want)
		}
	}
}

// TestAppendOctal: permission bits as strace's print_numeric_umode_t prints them ("%#03o").
func TestAppendOctal(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		want string
	}{
		{0, "000"}, {0o7, "007"}, {0o22, "022"}, {0o644, "0644"}, {0o1777, "01777"}, {0o6755, "06755"},
		{0o100644, "0100644"}, {0o17022, "017022"},
	} {
		if got := string(appendOctal(nil, tc.v)); got != tc.want {
			t.Errorf("appendOctal(%#o) = %s, want %s", tc.v, got, tc.want)
		}
	}
}
