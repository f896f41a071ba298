// Package render writes events as strace-style lines:
//
//	web.nginx-7d9f.shop: [nginx/4242] (ENOENT) openat(dirfd=AT_FDCWD, pathname="/etc/x", flags=O_RDONLY) = -1 <12µs>
//
// It is shared by the node agent (which renders straight from probe records, through Call) and the plugin (which
// renders events of the schema in package event, and whatever else prints a line: top, report, the Go API).
// Everything that comes from a traced process or the cluster is escaped, so a line never carries a control byte
// or a newline. It reads the args object with its own small JSON scanner (jsonscan.go), which does not allocate
// and falls back to the raw text on malformed input.
//
// Every function is safe for concurrent use; none keeps state between calls.
package render

import (
	"bytes"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/syscalls"
)

// Call is what one strace-like line shows. The agent fills it straight from a probe record (AppendEvent fills
// it from an event.Event), so both write their lines with the same code.
type Call struct {
	Comm    []byte
	Pid     int64
	Syscall string // name; empty: shown as syscall_<Nr>
	Nr      int64
	// Params gives the order and types of the arguments; nil: looked up by Syscall name in package syscalls,
	// and when that fails too, the keys of Args print in their own order with types guessed from the values.
	Params []syscalls.Param
	Args   []byte // the event's args object
	Error  string // errno name, or "" / "OK" when the call succeeded
	Return int64
	// ReturnFile is the event's return_file (event.FdFile, -y): shown after the returned fd, 3</etc/hosts>.
	ReturnFile []byte
	// Duration is finish - start in nanoseconds.
	Duration int64
	// Container, when set, prefixes the line with "container.pod.namespace: ".
	Container *event.Container
}

// AppendEvent appends e as one strace-like line ending in '\n', prefixed with its container when it has one.
func AppendEvent(dst []byte, e *event.Event) []byte {
	c := callOf(e)
	return AppendCall(dst, &c)
}

// AppendBody appends e's line without the container prefix and without the newline, for callers that
// colour the prefix themselves.
func AppendBody(dst []byte, e *event.Event) []byte {
	c := callOf(e)
	return appendBody(dst, &c)
}

func callOf(e *event.Event) Call {
	return Call{
		Comm:       []byte(e.Comm),
		Pid:        int64(e.Pid),
		Syscall:    e.Syscall.Name,
		Nr:         int64(e.Syscall.Nr),
		Args:       e.Args,
		Error:      e.Error,
		Return:     e.Return,
		ReturnFile: e.ReturnFile,
		Duration:   e.Finish - e.Start,
		Container:  e.Container,
	}
}

// AppendCall appends c as one line ending in '\n'.
func AppendCall(dst []byte, c *Call) []byte {
	if c.Container != nil {
		dst = AppendPrefix(dst, c.Container)
	}
	dst = appendBody(dst, c)
	return append(dst, '\n')
}

// AppendPrefix appends "container.pod.namespace: " (the seed's order), skipping empty names, or the
// container id's first 12 characters when it has no names.
func AppendPrefix(dst []byte, c *event.Container) []byte {
	start := len(dst)
	for _, s := range [...]string{c.Name, c.Pod, c.Namespace} {
		if s == "" {
			continue
		}
		if len(dst) > start {
			dst = append(dst, '.')
		}
		dst = appendEscaped(dst, []byte(s))
	}
	if len(dst) == start {
		id := c.ID
		if len(id) > 12 {
			id = id[:12]
		}
		if id == "" {
			return dst
		}
		dst = appendEscaped(dst, []byte(id))
	}
	return append(dst, ':', ' ')
}

func appendBody(dst []byte, c *Call) []byte {
	dst = append(dst, '[')
	dst = appendEscaped(dst, c.Comm)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, c.Pid, 10)
	dst = append(dst, ']', ' ')
	failed := c.Error != "" && c.Error != "OK"
	if failed {
		dst = append(dst, '(')
		dst = appendEscaped(dst, []byte(c.Error))
		dst = append(dst, ')', ' ')
	}
	name := c.Syscall
	if name == "" {
		dst = append(dst, "syscall_"...)
		dst = strconv.AppendInt(dst, c.Nr, 10)
	} else {
		dst = appendEscaped(dst, []byte(name))
	}
	dst = append(dst, '(')
	params := c.Params
	if params == nil && name != "" {
		params = paramsOf(name, c.Args)
	}
	dst = appendArgs(dst, c.Args, params)
	dst = append(dst, ") = "...)
	switch {
	case neverReturns(name):
		return append(dst, '?') // as strace: the record was written at entry and there is no duration
	case failed:
		dst = append(dst, '-', '1')
	case name == "umask": // the previous mask, octal as strace shows it
		dst = append(dst, '0')
		if c.Return < 0o10 {
			dst = append(dst, '0')
		}
		dst = strconv.AppendInt(dst, c.Return, 8)
	case returnsAddress(name) && c.Return != 0:
		dst = append(dst, '0', 'x')
		dst = strconv.AppendUint(dst, uint64(c.Return), 16)
	default:
		dst = strconv.AppendInt(dst, c.Return, 10)
		if len(c.ReturnFile) > 0 {
			dst = AppendFdFile(dst, c.ReturnFile)
		}
	}
	dst = append(dst, ' ', '<')
	dst = appendDuration(dst, c.Duration)
	return append(dst, '>')
}

func neverReturns(name string) bool { return name == "exit" || name == "exit_group" }

func returnsAddress(name string) bool {
	switch name {
	case "mmap", "mremap", "brk", "shmat":
		return true
	}
	return false
}

// appendDuration renders ns with three significant digits: 850ns, 1.23µs, 12.3µs, 123µs, 1.23ms, 1.23s.
func appendDuration(dst []byte, ns int64) []byte {
	if ns < 0 {
		ns = 0
	}
	if ns < 1000 {
		dst = strconv.AppendInt(dst, ns, 10)
		return append(dst, "ns"...)
	}
	unit, scale := "s", int64(1e9)
	switch {
	case ns < 1e6:
		unit, scale = "µs", 1e3
	case ns < 1e9:
		unit, scale = "ms", 1e6
	}
	whole := ns / scale
	dst = strconv.AppendInt(dst, whole, 10)
	decimals := 0
	switch {
	case whole < 10:
		decimals = 2
	case whole < 100:
		decimals = 1
	}
	if decimals > 0 {
		frac := ns % scale
		for range decimals {
			scale /= 10
		}
		digits := frac / scale
		dst = append(dst, '.')
		if decimals == 2 && digits < 10 {
			dst = append(dst, '0')
		}
		dst = strconv.AppendInt(dst, digits, 10)
	}
	return append(dst, unit...)
}

// appendArgs renders the args object as "name=value, ...": in params order first, then any key params do not
// name, in object order. Malformed args print as they are.
func appendArgs(dst, args []byte, params []syscalls.Param) []byte {
	m := newMembers(args)
	for {
		if _, _, ok := m.next(); !ok {
			break
		}
	}
	if m.err {
		return appendPrintable(dst, args)
	}
	start := len(dst)
	for _, p := range params {
		v, ok := lookup(args, p.Name)
		if !ok {
			continue
		}
		switch p.Type.Info().Fd {
		case syscalls.FdArg, syscalls.FdDir:
			dst = appendArg(dst, start, args, []byte(p.Name), v, p.Type.Info().Print)
			if f, ok := lookupSuffixed(args, p.Name, event.FdFileSuffix); ok && len(f) > 0 && f[0] == '{' {
				dst = AppendFdFile(dst, f)
			}
		case syscalls.FdPair:
			if fs, ok := lookupSuffixed(args, p.Name, event.FdFilesSuffix); ok && len(v) > 0 && v[0] == '[' {
				dst = appendKey(dst, start, []byte(p.Name))
				dst = appendFdPair(dst, v, fs)
				continue
			}
			dst = appendArg(dst, start, args, []byte(p.Name), v, p.Type.Info().Print)
		default:
			dst = appendArg(dst, start, args, []byte(p.Name), v, p.Type.Info().Print)
		}
	}
	m = newMembers(args)
	for {
		k, v, ok := m.next()
		if !ok {
			break
		}
		if hasParam(params, k) || isMarker(args, k, event.TruncatedSuffix) || isMarker(args, k, event.UnreadableSuffix) ||
			isMarker(args, k, event.FdFileSuffix) || isMarker(args, k, event.FdFilesSuffix) {
			continue
		}
		dst = appendArg(dst, start, args, k, v, syscalls.PrintGuess)
	}
	return dst
}

func appendKey(dst []byte, start int, key []byte) []byte {
	if len(dst) > start {
		dst = append(dst, ',', ' ')
	}
	dst = appendEscaped(dst, key)
	return append(dst, '=')
}

func appendArg(dst []byte, start int, args, key, v []byte, q syscalls.Print) []byte {
	dst = appendKey(dst, start, key)
	truncated := isTruncated(args, key)
	if q == syscalls.PrintFdSet && len(v) > 0 && v[0] == '[' {
		return appendFdSet(dst, v)
	}
	if truncated && len(v) > 0 && v[0] == '[' {
		return appendArray(dst, v, true)
	}
	dst = appendValue(dst, v, q)
	if truncated {
		dst = append(dst, "..."...)
	}
	return dst
}

// lookupSuffixed finds args' key name+suffix ("fd_file") without allocating for the usual names.
func lookupSuffixed(args []byte, name, suffix string) ([]byte, bool) {
	var buf [64]byte
	return lookup(args, string(append(append(buf[:0], name...), suffix...)))
}

// AppendFdFile appends an fd's description (an event.FdFile object) as strace -y and -yy show it after the fd:
// </etc/hosts>, <pipe:[12]>, </dev/null<char 1:3>>, <TCP:[10.0.0.1:80->10.0.0.2:4242]>, then (deleted).
func AppendFdFile(dst, obj []byte) []byte {
	dst = append(dst, '<')
	if s, ok := lookup(obj, "socket"); ok && isJSONString(s) {
		dst = appendSocketText(dst, s[1:len(s)-1])
	} else if p, ok := lookup(obj, "path"); ok && isJSONString(p) {
		dst = appendAngled(dst, p[1:len(p)-1])
		if d, ok := lookup(obj, "device"); ok && isJSONString(d) {
			dst = append(dst, '<')
			dst = appendAngled(dst, d[1:len(d)-1])
			dst = append(dst, '>')
		}
	}
	dst = append(dst, '>')
	if d, ok := lookup(obj, "deleted"); ok && string(d) == "true" {
		dst = append(dst, "(deleted)"...)
	}
	return dst
}

func isJSONString(v []byte) bool { return len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' }

// appendAngled appends the body of a JSON string between < and >: escaped as appendUnquoted does, and < and >
// in octal too, as strace escapes them there (\74, \76).
func appendAngled(dst, body []byte) []byte {
	n := len(dst)
	dst = appendUnquoted(dst, body)
	end, angles := len(dst), 0
	for _, c := range dst[n:] {
		if c == '<' || c == '>' {
			angles++
		}
	}
	if angles == 0 {
		return dst
	}
	dst = append(dst, make([]byte, 2*angles)...)
	j := len(dst)
	for i := end - 1; i >= n; i-- {
		c := dst[i]
		if c == '<' || c == '>' {
			j -= 3
			dst[j], dst[j+1], dst[j+2] = '\\', '7', '0'+c&7
		} else {
			j--
			dst[j] = c
		}
	}
	return dst
}

// appendSocketText appends the body of a JSON string that strace -yy shows as it is (a socket's text, whose unix
// path strace quoted already): only what is not printable is escaped.
func appendSocketText(dst, body []byte) []byte {
	n := len(dst)
	dst = appendUnquoted(dst, body)
	// appendUnquoted escaped " and \ for a C string: undo that, the text is not one.
	j := n
	for i := n; i < len(dst); i++ {
		if dst[i] == '\\' && i+1 < len(dst) && (dst[i+1] == '"' || dst[i+1] == '\\') {
			i++
		}
		dst[j] = dst[i]
		j++
	}
	return dst[:j]
}

// appendFdPair appends the fds a pipe or socketpair filled with their descriptions: [3<pipe:[9]>, 4<pipe:[9]>].
func appendFdPair(dst, fds, files []byte) []byte {
	dst = append(dst, '[')
	m, fm := newMembers(fds), newMembers(files)
	for n := 0; ; n++ {
		_, v, ok := m.next()
		if !ok {
			break
		}
		if n > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = appendValue(dst, v, syscalls.PrintBare)
		if _, f, ok := fm.next(); ok && len(f) > 0 && f[0] == '{' {
			dst = AppendFdFile(dst, f)
		}
	}
	return append(dst, ']')
}

func hasParam(params []syscalls.Param, key []byte) bool {
	for _, p := range params {
		if p.Name == string(key) {
			return true
		}
	}
	return false
}

// isMarker says whether key is "<arg><suffix>" ("_truncated", "_unreadable") for an argument present in args.
// An unreadable pointer prints as strace prints it, as the address.
func isMarker(args, key []byte, suffix string) bool {
	n := len(key) - len(suffix)
	if n <= 0 || string(key[n:]) != suffix {
		return false
	}
	_, ok := lookup(args, string(key[:n]))
	return ok
}

func isTruncated(args, key []byte) bool {
	buf := make([]byte, 0, 64)
	buf = append(append(buf, key...), event.TruncatedSuffix...)
	v, ok := lookup(args, string(buf))
	return ok && string(v) == "true"
}

// appendValue renders one JSON value strace-style; q is how its type prints (syscalls.ArgInfo.Print), PrintGuess
// for a key no parameter names, where the text decides whether a string is quoted.
func appendValue(dst, v []byte, q syscalls.Print) []byte {
	if len(v) == 0 {
		return dst
	}
	switch v[0] {
	case '"':
		body := v[1 : len(v)-1]
		if q == syscalls.PrintBare || isPointer(body) || (q == syscalls.PrintGuess && (isSymbolic(body) || isStraceNotation(body))) {
			return appendUnquoted(dst, body)
		}
		dst = append(dst, '"')
		dst = appendUnquoted(dst, body)
		return append(dst, '"')
	case 'n':
		return append(dst, "NULL"...)
	case '[':
		return appendArray(dst, v, false)
	case '{':
		if fam, ok := lookup(v, "family"); ok {
			return appendSockaddr(dst, v, fam)
		}
		return appendObject(dst, v)
	}
	return appendPrintable(dst, v)
}

// appendArray renders an array of strings as ["a", "b"], with "..." before the bracket when it was truncated.
func appendArray(dst, v []byte, truncated bool) []byte {
	return appendList(dst, v, ", ", syscalls.PrintQuoted, truncated)
}

// appendList renders the elements of a JSON array between brackets, separated by sep.
func appendList(dst, v []byte, sep string, q syscalls.Print, truncated bool) []byte {
	dst = append(dst, '[')
	m := newMembers(v)
	for n := 0; ; n++ {
		_, e, ok := m.next()
		if !ok {
			break
		}
		if n > 0 {
			dst = append(dst, sep...)
		}
		dst = appendValue(dst, e, q)
	}
	if truncated {
		dst = append(dst, "..."...)
	}
	return append(dst, ']')
}

// appendObject renders a struct (open_how, clone_args) as {name=value, ...}.
func appendObject(dst, v []byte) []byte {
	dst = append(dst, '{')
	m := newMembers(v)
	for n := 0; ; n++ {
		k, e, ok := m.next()
		if !ok {
			break
		}
		if n > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = appendEscaped(dst, k)
		dst = append(dst, '=')
		dst = appendValue(dst, e, syscalls.PrintGuess)
	}
	return append(dst, '}')
}

// appendSockaddr renders a decoded sockaddr as strace does:
// {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.0.0.1")}.
func appendSockaddr(dst, v, family []byte) []byte {
	fam := family
	if len(fam) >= 2 && fam[0] == '"' {
		fam = fam[1 : len(fam)-1]
	}
	dst = append(dst, "{sa_family="...)
	dst = appendUnquoted(dst, fam)
	field := func(key string) ([]byte, bool) { return lookup(v, key) }
	// num appends a numeric field, 0 when absent.
	num := func(dst []byte, key string) []byte {
		if x, ok := field(key); ok {
			return appendValue(dst, x, syscalls.PrintBare)
		}
		return append(dst, '0')
	}
	switch string(fam) {
	case "AF_INET":
		dst = append(dst, ", sin_port=htons("...)
		dst = num(dst, "port")
		dst = append(dst, "), sin_addr=inet_addr("...)
		if a, ok := field("addr"); ok {
			dst = appendValue(dst, a, syscalls.PrintQuoted)
		}
		dst = append(dst, ')')
	case "AF_INET6":
		dst = append(dst, ", sin6_port=htons("...)
		dst = num(dst, "port")
		dst = append(dst, "), sin6_flowinfo=htonl("...)
		dst = num(dst, "flowinfo")
		dst = append(dst, "), inet_pton(AF_INET6, "...)
		if a, ok := field("addr"); ok {
			dst = appendValue(dst, a, syscalls.PrintQuoted)
		}
		dst = append(dst, ", &sin6_addr), sin6_scope_id="...)
		dst = num(dst, "scope_id")
	case "AF_UNIX":
		if p, ok := field("path"); ok && len(p) >= 2 && p[0] == '"' {
			dst = append(dst, ", sun_path="...)
			if p[1] == '@' {
				dst = append(dst, '@', '"')
				dst = appendUnquoted(dst, p[2:len(p)-1])
				dst = append(dst, '"')
			} else {
				dst = appendValue(dst, p, syscalls.PrintQuoted)
			}
		}
	case "AF_NETLINK":
		dst = append(dst, ", nl_pid="...)
		dst = num(dst, "pid")
		dst = append(dst, ", nl_groups="...)
		g, _ := field("groups")
		if groups, err := strconv.ParseUint(string(g), 10, 32); err == nil {
			n := len(dst)
			dst = strconv.AppendUint(dst, groups, 16)
			for len(dst)-n < 8 { // strace prints the group mask as %08x
				dst = append(dst[:n+1], dst[n:]...)
				dst[n] = '0'
			}
		} else {
			dst = num(dst, "groups")
		}
	default:
		m := newMembers(v)
		for {
			k, e, ok := m.next()
			if !ok {
				break
			}
			if string(k) == "family" {
				continue
			}
			dst = append(dst, ", "...)
			if string(k) == "data" {
				dst = append(dst, "sa_data"...)
			} else {
				dst = appendEscaped(dst, k)
			}
			dst = append(dst, '=')
			dst = appendValue(dst, e, syscalls.PrintBare)
		}
	}
	return append(dst, '}')
}

// isPointer says whether s is "0x" and lowercase hex digits: how the agent shows an uncaptured pointer.
func isPointer(s []byte) bool {
	if len(s) < 3 || s[0] != '0' || s[1] != 'x' {
		return false
	}
	for _, c := range s[2:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// appendFdSet renders an array of descriptors as strace does: [3 4].
func appendFdSet(dst, v []byte) []byte {
	return appendList(dst, v, " ", syscalls.PrintBare, false)
}

// isStraceNotation says whether s is written the way strace writes a value that is not a string: a signal
// set ("[INT TERM]", "~[]"), a wait status ("[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]"), a device
// ("makedev(0x1, 0x3)"), capability bits ("1<<CAP_CHOWN|1<<CAP_KILL").
func isStraceNotation(s []byte) bool {
	switch {
	case bytes.HasPrefix(s, []byte("[{W")) && bytes.HasSuffix(s, []byte("}]")):
		return true
	case bytes.HasPrefix(s, []byte("makedev(0x")) && bytes.HasSuffix(s, []byte(")")):
		return true
	case bytes.HasPrefix(s, []byte("1<<")):
		return isSymbolic(bytes.ReplaceAll(s, []byte("1<<"), nil))
	}
	if len(s) > 0 && s[0] == '~' {
		s = s[1:]
	}
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	for _, c := range s[1 : len(s)-1] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != ' ' {
			return false
		}
	}
	return true
}

// isSymbolic says whether s looks like a flag set or a name ("O_RDONLY|0x80000", "SIGRTMIN+3", "0644").
func isSymbolic(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	part := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '|' {
			p := s[part:i]
			if len(p) == 0 {
				return false
			}
			if !isPointer(p) {
				for _, c := range p {
					if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '+' {
						return false
					}
				}
			}
			part = i + 1
		}
	}
	return true
}

// appendUnquoted decodes the body of a JSON string and appends it with C escapes for what is not printable:
// \n, \t, \", \\, \xNN; printable Unicode stays as it is.
func appendUnquoted(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		c := body[i]
		if c == '\\' && i+1 < len(body) {
			e := body[i+1]
			i += 2
			switch e {
			case 'n':
				dst = append(dst, '\\', 'n')
			case 't':
				dst = append(dst, '\\', 't')
			case 'r':
				dst = append(dst, '\\', 'r')
			case 'b':
				dst = append(dst, '\\', 'b')
			case 'f':
				dst = append(dst, '\\', 'f')
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case 'u':
				r, n := decodeU(body[i:])
				i += n
				dst = appendRune(dst, r)
			default:
				// Not a JSON escape (a malformed stream): show the backslash and let the next byte be
				// rendered on its own, so that a raw control byte cannot break the line.
				dst = append(dst, '\\', '\\')
				i--
			}
			continue
		}
		if c < utf8.RuneSelf {
			dst = appendRune(dst, rune(c))
			i++
			continue
		}
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, '\\', 'x', hexDigit[c>>4], hexDigit[c&0xf])
		} else {
			dst = appendRune(dst, r)
		}
		i += size
	}
	return dst
}

// decodeU decodes the XXXX of a \uXXXX escape (and the low half of a surrogate pair that follows).
func decodeU(b []byte) (rune, int) {
	r, ok := hex4(b)
	if !ok {
		return utf8.RuneError, 0
	}
	if r >= 0xd800 && r < 0xdc00 && len(b) >= 10 && b[4] == '\\' && b[5] == 'u' {
		if lo, ok := hex4(b[6:]); ok && lo >= 0xdc00 && lo < 0xe000 {
			return 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00), 10
		}
	}
	if r >= 0xd800 && r < 0xe000 {
		return utf8.RuneError, 4
	}
	return r, 4
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

const hexDigit = "0123456789abcdef"

// appendRune appends r, C-escaped unless it is printable.
func appendRune(dst []byte, r rune) []byte {
	switch r {
	case '\n':
		return append(dst, '\\', 'n')
	case '\t':
		return append(dst, '\\', 't')
	case '\r':
		return append(dst, '\\', 'r')
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	}
	if r < utf8.RuneSelf {
		if r < 0x20 || r == 0x7f {
			return append(dst, '\\', 'x', hexDigit[r>>4], hexDigit[r&0xf])
		}
		return append(dst, byte(r))
	}
	if unicode.IsPrint(r) {
		return utf8.AppendRune(dst, r)
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	for _, c := range buf[:n] {
		dst = append(dst, '\\', 'x', hexDigit[c>>4], hexDigit[c&0xf])
	}
	return dst
}

// appendEscaped appends raw bytes (a comm, a key, a name) with C escapes for what is not printable. Bytes
// that are not UTF-8 show as U+FFFD, as they do once the text has been through JSON, so that the agent's
// lines and the plugin's agree.
func appendEscaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendRune(dst, rune(c))
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		dst = appendRune(dst, r)
		i += size
	}
	return dst
}

// appendPrintable appends raw text (malformed JSON) as it is, except for what is not printable.
func appendPrintable(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		i += size
		if r == '"' || r == '\\' {
			dst = append(dst, byte(r))
			continue
		}
		dst = appendRune(dst, r)
	}
	return dst
}
