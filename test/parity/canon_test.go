//go:build linux

package parity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/render"
	"github.com/swoll-dev/swoll/syscalls"
)

// Both sides are brought to one canonical form before they are compared. The differences this file
// normalizes, and why each is not a defect:
//
//   - Pointers: addresses differ between the two runs (ASLR), so every pointer is "<ptr>" and NULL is "NULL"
//     on both sides. Where strace follows a pointer that swoll leaves opaque (documented in event.Event.Args:
//     "pointers without a decoding"), strace's decoded value also counts as "<ptr>": accept4's addrlen
//     ([16] / [110 => 2]) and execve's envp (strace's "0x7ffd... /* 2 vars */").
//   - Bytes that are not UTF-8: swoll's JSON strings carry U+FFFD for each (event.Event.Args); strace's
//     bytes are mapped the same way before comparing.
//   - Strings swoll cut at its capture limit ("<name>_truncated": true): strace's value must start with
//     swoll's prefix.
//   - Errors: swoll's return is the kernel's -errno with the name in "error"; strace prints -1 and the name.
//     Both become "-1 ENAME".
//   - Pids and tids differ between runs: both become names in the process tree ("main", "main/2" for the
//     second process or thread main created), in arguments of type pid and in the returns of clone calls.
//   - Numbers strace writes in hex or octal outside a mode (unknown flag bits, "0x3039 /* AF_??? */") are
//     compared as decimal numbers; strace's comments are dropped.
//   - sockaddrs: strace's {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.0.0.1")} and
//     swoll's {"family":"AF_INET","port":80,"addr":"10.0.0.1"} become "AF_INET 10.0.0.1:80" (IPv6 with
//     flowinfo and scope id, AF_UNIX with its path or @name, AF_NETLINK with pid and groups).
//   - Structs, arrays and sets of other types (stat, sigaction, pollfd, msghdr...): every field strace shows
//     must be in swoll's object with the same value (strace abbreviates; swoll may show more). A field
//     strace follows and swoll shows as an address (msghdr's msg_iov) counts as the same, like an argument.
//     clock_gettime's time differs between runs and is not compared.
//   - Structs (open_how, clone_args): strace leaves some zero fields out (and prints others, "resolve=0"),
//     swoll prints what the event.Event.Args rules say; a missing field counts as zero on both sides.
//     clone_args' pidfd is compared only when the flags hold CLONE_PIDFD: strace shows it only then, swoll
//     always (glibc's pthread_create leaves the parent_tid address in it, which the kernel ignores).
//   - A struct whose size argument is below the first published version (open_how: 24, clone_args: 64):
//     the kernel rejects it and strace prints the pointer; swoll decodes the bytes it captured (pinned by
//     the decoder's goldens, "how={flags=O_RDONLY}, size=8"). Both count as "<ptr>".
//   - fds with -y and -yy: strace's 3</etc/hosts> and swoll's "fd":3,"fd_file":{...} (rendered as -o cli
//     renders it, render.AppendFdFile) compare as text, with what differs between any two runs masked: inode
//     numbers (pipe:[<ino>], TCP:[<ino>], UNIX-STREAM:[<ino>-><ino>]), ports the kernel picked (from the
//     ephemeral range, :<eph>) and a netlink socket's port id (the process's id, named as pids are).
//   - -yy sockets: strace keeps the details of a socket from the first call that found them (socketutils.c
//     caches them by inode) and shows those at every later call, connected or not; swoll shows the socket as
//     it is at each call. swoll's side is read through the same cache.

// arg is one argument in canonical form.
type arg struct {
	key    string
	val    string // canonical rendering
	str    []byte // the bytes of a string value
	isStr  bool
	items  []string // the strings of an argv
	trunc  bool     // swoll kept only a prefix of str or items
	absent bool     // the side did not print this argument (open's mode without O_CREAT)
	st     *sval    // strace's struct, array or set, compared field by field with js
	js     any      // swoll's decoded JSON value of a struct, array or set
}

func (a arg) String() string {
	switch {
	case a.absent:
		return a.key + "=(absent)"
	case a.trunc:
		return a.key + "=" + a.val + "...(cut)"
	}
	return a.key + "=" + a.val
}

// same says whether strace's argument s and swoll's w agree.
func same(s, w arg) bool {
	if s.absent || w.absent {
		return s.absent == w.absent
	}
	if s.st != nil || w.js != nil {
		return s.st != nil && w.js != nil && sameTree(*s.st, w.js)
	}
	if s.isStr && w.isStr && w.trunc {
		return strings.HasPrefix(string(s.str), string(w.str))
	}
	if w.trunc && w.items != nil && s.items != nil {
		// an argv swoll cut: its entries start strace's, and its last one may itself be cut
		if len(w.items) > len(s.items) {
			return false
		}
		for i, it := range w.items {
			if it != s.items[i] && (i < len(w.items)-1 || !strings.HasPrefix(s.items[i], it)) {
				return false
			}
		}
		return true
	}
	return s.val == w.val
}

// canon turns values of one run into canonical strings. pids names the run's processes and threads.
type canon struct {
	pids map[int]string
	// sockets is strace -yy's cache of socket details, by inode, applied to swoll's side (see above)
	sockets map[string]string
}

var (
	// inodes in fd descriptions: pipe:[12], socket:[12], TCP:[12], UNIX-STREAM:[12->13,"/p"] (a number after [ or
	// ->, and before ], -> or ,: not an address's first byte, [127.0.0.1:80])
	fdInodeRe = regexp.MustCompile(`(\[|->)(\d+)`)
	// a port of the ephemeral range
	fdEphemeralRe = regexp.MustCompile(`:(3[2-9]\d{3}|[4-6]\d{4})\b`)
	fdNetlinkRe   = regexp.MustCompile(`^(<NETLINK:\[[A-Z_]+:)(\d+)(\]>)`)
	// a socket shown by its inode only (strace: not found, so not cached)
	fdInodeOnlyRe = regexp.MustCompile(`^[A-Za-z0-9/-]+:\[(\d+)\]$`)
)

// fdText masks what differs between runs in an fd's description as strace -y prints it ("</etc/hosts>").
func (c *canon) fdText(text string) string {
	if m := fdNetlinkRe.FindStringSubmatch(text); m != nil {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		text = m[1] + c.pid(n) + m[3] + text[len(m[0]):]
	}
	var b strings.Builder
	last := 0
	for _, m := range fdInodeRe.FindAllStringSubmatchIndex(text, -1) {
		if end := m[5]; end < len(text) && (text[end] == ']' || text[end] == ',' || strings.HasPrefix(text[end:], "->")) {
			b.WriteString(text[last:m[4]])
			b.WriteString("<ino>")
			last = end
		}
	}
	b.WriteString(text[last:])
	return fdEphemeralRe.ReplaceAllString(b.String(), ":<eph>")
}

// splitFd splits strace's "3</etc/hosts>" (or "AT_FDCWD</srv>") into the fd and its description.
func splitFd(text string) (string, string) {
	for i := range len(text) {
		if fdAngle(text, i) {
			return text[:i], text[i:]
		}
	}
	return text, ""
}

// swollFd renders swoll's description of an fd (event.FdFile) as strace shows it, its socket details read
// through strace's cache.
func (c *canon) swollFd(raw json.RawMessage) string {
	var f event.FdFile
	if json.Unmarshal(raw, &f) != nil {
		return "<?" + string(raw) + ">"
	}
	if f.Socket != "" {
		ino := strings.TrimSuffix(strings.TrimPrefix(f.Path, "socket:["), "]")
		if cached, ok := c.sockets[ino]; ok {
			f.Socket = cached
		} else if !fdInodeOnlyRe.MatchString(f.Socket) {
			c.sockets[ino] = f.Socket
		}
	}
	b, _ := json.Marshal(f)
	return c.fdText(string(render.AppendFdFile(nil, b)))
}

func (c *canon) pid(n int64) string {
	if name, ok := c.pids[int(n)]; ok {
		return name
	}
	return strconv.FormatInt(n, 10)
}

// utf8Like maps each byte that is not part of valid UTF-8 to U+FFFD, as swoll's JSON strings do.
func utf8Like(b string) string {
	var out strings.Builder
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRuneInString(b[i:])
		if r == utf8.RuneError && size == 1 {
			out.WriteRune(utf8.RuneError)
		} else {
			out.WriteString(b[i : i+size])
		}
		i += size
	}
	return out.String()
}

func strArg(key, s string) arg {
	s = utf8Like(s)
	return arg{key: key, val: strconv.Quote(s), str: []byte(s), isStr: true}
}

var hexPointer = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)

// pointer renders an address: NULL or <ptr>.
func pointer(text string) string {
	if text == "NULL" || text == "0" || text == "0x0" {
		return "NULL"
	}
	return "<ptr>"
}

// number parses strace's or swoll's rendering of an integer: decimal, or 0x hex.
func number(text string) (int64, bool) {
	if strings.HasPrefix(text, "0x") {
		v, err := strconv.ParseUint(text[2:], 16, 64)
		return int64(v), err == nil
	}
	v, err := strconv.ParseInt(text, 10, 64)
	return v, err == nil
}

// jsonObject decodes a JSON object with its numbers as written.
func jsonObject(raw json.RawMessage) (map[string]string, bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil || m == nil {
		return nil, false
	}
	f := map[string]string{}
	for k, v := range m {
		if v == nil {
			f[k] = "NULL"
		} else {
			f[k] = fmt.Sprint(v)
		}
	}
	return f, true
}

// flagsText canonicalizes a flag set or symbolic name: numeric parts in decimal, order kept (swoll claims
// strace's order).
func flagsText(text string) string {
	parts := strings.Split(text, "|")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if v, ok := number(p); ok {
			p = strconv.FormatInt(v, 10)
		}
		parts[i] = p
	}
	return strings.Join(parts, "|")
}

// structTypes are the argument types compared as trees: strace's struct, array or set against swoll's
// decoded JSON, field by field. A struct compares the fields strace shows (it abbreviates: st_mode and
// st_size of a stat, "..." for the rest); swoll must show each of them with the same value.
var structTypes = map[syscalls.ArgType]bool{
	syscalls.ArgTimespec: true, syscalls.ArgTimespecOut: true, syscalls.ArgTimespecRem: true,
	syscalls.ArgTimespecPair: true, syscalls.ArgTimeval: true, syscalls.ArgItimerspec: true,
	syscalls.ArgSigset: true, syscalls.ArgSigsetOut: true, syscalls.ArgSigaction: true,
	syscalls.ArgSigactionOut: true, syscalls.ArgStatOut: true, syscalls.ArgStatxOut: true,
	syscalls.ArgPollFds: true, syscalls.ArgEpollEvent: true, syscalls.ArgFdSet: true,
	syscalls.ArgCapHeader: true, syscalls.ArgCapData: true, syscalls.ArgCapDataOut: true,
	syscalls.ArgRlimit: true, syscalls.ArgRlimitOut: true, syscalls.ArgUtsnameOut: true,
	syscalls.ArgFdPairOut: true, syscalls.ArgIntOut: true, syscalls.ArgSockOptVal: true,
	syscalls.ArgSockOptValOut: true, syscalls.ArgWaitStatusOut: true, syscalls.ArgMsghdr: true,
	syscalls.ArgMsghdrOut: true, syscalls.ArgIovec: true, syscalls.ArgIovecOut: true,
	syscalls.ArgEpollEventsOut: true,
}

// renderS writes a strace value back as text, sets and wait statuses as strace prints them.
func renderS(v sval) string {
	switch v.kind {
	case strVal:
		return strconv.Quote(v.text)
	case arrayVal:
		parts := make([]string, len(v.items))
		for i, it := range v.items {
			parts[i] = renderS(it)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case structVal:
		parts := make([]string, len(v.items))
		for i, it := range v.items {
			parts[i] = renderS(it)
			if v.names[i] != "" {
				parts[i] = v.names[i] + "=" + parts[i]
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return v.text
}

// normAtom canonicalizes a scalar: numbers in decimal (strace's products such as 8192*1024 evaluated),
// addresses as <ptr>, NULL, names as they are.
func normAtom(text string) string {
	switch {
	case text == "NULL":
		return "NULL"
	case hexPointer.MatchString(text) && len(text) > 8:
		return "<ptr>"
	}
	if a, b, ok := strings.Cut(text, "*"); ok {
		x, ok1 := number(a)
		y, ok2 := number(b)
		if ok1 && ok2 {
			return strconv.FormatInt(x*y, 10)
		}
	}
	if n, ok := number(text); ok {
		return strconv.FormatInt(n, 10)
	}
	return flagsText(text)
}

// sameTree compares strace's value s with swoll's decoded JSON w. A field strace follows (an iovec
// array, a struct it points to) that swoll shows as an address counts as the same, as for arguments.
func sameTree(s sval, w any) bool {
	if ws, ok := w.(string); ok && (s.kind == arrayVal || s.kind == structVal) && hexPointer.MatchString(ws) {
		return true
	}
	if wm, ok := w.(map[string]any); ok && s.kind == structVal && len(s.names) > 0 && s.names[0] == "sa_family" {
		f := map[string]string{} // a sockaddr inside a struct (msghdr's msg_name)
		for k, v := range wm {
			f[k] = fmt.Sprint(v)
		}
		return straceSockaddr(s) == sockaddrText(f)
	}
	switch s.kind {
	case strVal:
		ws, ok := w.(string)
		return ok && utf8Like(s.text) == ws
	case atomVal:
		switch w := w.(type) {
		case nil:
			return normAtom(s.text) == "NULL"
		case json.Number:
			if n, ok := number(s.text); ok { // strace writes unnamed values in hex, swoll in decimal
				m, err := w.Int64()
				return err == nil && n == m
			}
			return normAtom(s.text) == normAtom(w.String())
		case string:
			return normAtom(s.text) == normAtom(w)
		}
		return false
	case arrayVal:
		switch w := w.(type) {
		case string: // a signal set or a wait status, as strace text
			return renderS(s) == w
		case []any:
			items := s.items
			if len(items) == 1 && items[0].kind == atomVal && strings.Contains(items[0].text, " ") {
				items = nil // an fd set, "[3 4]"
				for _, f := range strings.Fields(s.items[0].text) {
					items = append(items, sval{kind: atomVal, text: f})
				}
			}
			if len(items) != len(w) {
				return false
			}
			for i := range items {
				if !sameTree(items[i], w[i]) {
					return false
				}
			}
			return true
		}
		return false
	case structVal:
		m, ok := w.(map[string]any)
		if !ok {
			return false
		}
		for i, name := range s.names {
			if name == "" {
				return false
			}
			wv, ok := m[name]
			if !ok || !sameTree(s.items[i], wv) {
				return false
			}
		}
		return true
	}
	return false
}

// isName says whether s is a symbolic name (upper case, digits, underscores).
func isName(s string) bool {
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return s != ""
}

// volatile masks values that differ between any two runs: the clock clock_gettime reads.
func volatile(c *call) {
	if c.name != "clock_gettime" {
		return
	}
	for i := range c.args {
		if c.args[i].st != nil || c.args[i].js != nil {
			c.args[i] = arg{key: c.args[i].key, val: "<the time>"}
		}
	}
}

// --- strace side ---

func (c *canon) straceArg(key string, t syscalls.ArgType, v sval) arg {
	a := arg{key: key}
	if t == syscalls.ArgFdPairOut && v.kind == arrayVal && len(v.items) == 2 && strings.Contains(renderS(v), "<") {
		parts := make([]string, len(v.items))
		for i, it := range v.items {
			num, fd := splitFd(it.text)
			parts[i] = num + c.fdText(fd)
		}
		a.val = "[" + strings.Join(parts, ", ") + "]"
		return a
	}
	if structTypes[t] {
		if v.kind == atomVal && !strings.HasPrefix(v.text, "~[") {
			a.val = pointer(v.text)
		} else {
			a.st = &v
			a.val = renderS(v)
		}
		return a
	}
	switch t {
	case syscalls.ArgPath, syscalls.ArgPathAtEntry, syscalls.ArgString, syscalls.ArgBufIn, syscalls.ArgBufOut,
		syscalls.ArgDataIn, syscalls.ArgDataOut, syscalls.ArgStringOut:
		if v.kind == strVal {
			return strArg(key, v.text)
		}
		a.val = pointer(v.text)
	case syscalls.ArgHex, syscalls.ArgAddr:
		if v.kind == atomVal {
			a.val = pointer(v.text)
		} else {
			a.val = "<ptr>" // strace followed a pointer swoll leaves opaque
		}
	case syscalls.ArgFd, syscalls.ArgDirFd:
		num, fd := splitFd(v.text)
		a.val = num
		if n, ok := number(num); ok {
			a.val = strconv.FormatInt(n, 10)
		}
		if fd != "" {
			a.val += c.fdText(fd)
		}
	case syscalls.ArgInt, syscalls.ArgUint, syscalls.ArgSize, syscalls.ArgUID, syscalls.ArgLong:
		a.val = v.text
		if n, ok := number(v.text); ok {
			a.val = strconv.FormatInt(n, 10)
		}
	case syscalls.ArgPrctlArg:
		switch {
		case v.kind == strVal:
			return strArg(key, v.text)
		case v.kind != atomVal:
			a.val = "<ptr>"
		default:
			a.val = normAtom(v.text)
		}
	case syscalls.ArgPid:
		a.val = v.text
		if n, ok := number(v.text); ok {
			a.val = c.pid(n)
		}
	case syscalls.ArgStrArray:
		if v.kind != arrayVal {
			a.val = pointer(v.text)
			break
		}
		var quoted []string
		for _, it := range v.items {
			a.items = append(a.items, utf8Like(it.text))
			quoted = append(quoted, strconv.Quote(utf8Like(it.text)))
		}
		a.val = "[" + strings.Join(quoted, ", ") + "]"
	case syscalls.ArgSockaddrIn, syscalls.ArgSockaddrOut:
		if v.kind != structVal {
			a.val = pointer(v.text)
			break
		}
		a.val = straceSockaddr(v)
	case syscalls.ArgOpenHow, syscalls.ArgCloneArgs:
		if v.kind != structVal {
			a.val = pointer(v.text)
			break
		}
		fields := map[string]string{}
		for i, n := range v.names {
			if v.items[i].kind == atomVal {
				fields[n] = v.items[i].text
			} else {
				fields[n] = "<ptr>"
			}
		}
		a.val = structText(t, fields)
	case syscalls.ArgMode, syscalls.ArgFileMode:
		a.val = v.text
	case syscalls.ArgIoctlArg: // a value, a name, an address, or what it points to
		switch v.kind {
		case atomVal:
			a.val = normAtom(v.text)
		case strVal:
			return strArg(key, v.text)
		default:
			a.st = &v
			a.val = renderS(v)
		}
	default:
		a.val = flagsText(v.text)
	}
	return a
}

var (
	htonsRe  = regexp.MustCompile(`^hton[sl]\((\d+)\)$`)
	quotedRe = regexp.MustCompile(`"([^"]*)"`)
)

// straceSockaddr renders strace's struct sockaddr like sockaddrText does swoll's.
func straceSockaddr(v sval) string {
	f := map[string]string{}
	for i, n := range v.names {
		it := v.items[i]
		switch {
		case it.kind == strVal && it.at:
			f[n] = "@" + it.text
		case it.kind == strVal:
			f[n] = it.text
		case n == "" && strings.HasPrefix(it.text, "inet_pton("):
			if m := quotedRe.FindStringSubmatch(it.text); m != nil {
				f["addr"] = m[1]
			}
		default:
			f[n] = it.text
		}
	}
	unwrap := func(s string) string {
		if m := htonsRe.FindStringSubmatch(s); m != nil {
			return m[1]
		}
		if m := quotedRe.FindStringSubmatch(s); m != nil && strings.HasPrefix(s, "inet_addr(") {
			return m[1]
		}
		if m := quotedRe.FindStringSubmatch(s); m != nil && strings.HasPrefix(s, "if_nametoindex(") {
			if ifc, err := net.InterfaceByName(m[1]); err == nil {
				return strconv.Itoa(ifc.Index)
			}
		}
		if n, ok := number(s); ok {
			return strconv.FormatInt(n, 10)
		}
		return s
	}
	s := map[string]string{"family": f["sa_family"]}
	switch f["sa_family"] {
	case "AF_INET":
		s["port"], s["addr"] = unwrap(f["sin_port"]), unwrap(f["sin_addr"])
	case "AF_INET6":
		s["port"], s["addr"] = unwrap(f["sin6_port"]), f["addr"]
		s["flowinfo"], s["scope_id"] = unwrap(f["sin6_flowinfo"]), unwrap(f["sin6_scope_id"])
	case "AF_UNIX":
		s["path"] = f["sun_path"]
	case "AF_NETLINK":
		s["pid"] = unwrap(f["nl_pid"])
		// strace prints the groups as %08x
		if g, err := strconv.ParseUint(f["nl_groups"], 16, 32); err == nil {
			s["groups"] = strconv.FormatUint(g, 10)
		}
	default:
		s["data"] = fmt.Sprint(f)
	}
	return sockaddrText(s)
}

// sockaddrText is the canonical sockaddr: "AF_INET 127.0.0.1:80", "AF_INET6 [::1]:80 flowinfo=1 scope_id=1",
// "AF_UNIX /path", "AF_UNIX @name", "AF_NETLINK pid=0 groups=0".
func sockaddrText(s map[string]string) string {
	zero := func(v string) bool { return v == "" || v == "0" }
	switch s["family"] {
	case "AF_INET":
		return fmt.Sprintf("AF_INET %s:%s", s["addr"], s["port"])
	case "AF_INET6":
		out := fmt.Sprintf("AF_INET6 [%s]:%s", s["addr"], s["port"])
		if !zero(s["flowinfo"]) {
			out += " flowinfo=" + s["flowinfo"]
		}
		if !zero(s["scope_id"]) {
			out += " scope_id=" + s["scope_id"]
		}
		return out
	case "AF_UNIX":
		return strings.TrimSpace("AF_UNIX " + s["path"])
	case "AF_NETLINK":
		return fmt.Sprintf("AF_NETLINK pid=%s groups=%s", s["pid"], s["groups"])
	}
	return fmt.Sprintf("%s data=%s", s["family"], s["data"])
}

// structFields are the fields of open_how and clone_args, in their order.
var structFields = map[syscalls.ArgType][]string{
	syscalls.ArgOpenHow: {"flags", "mode", "resolve"},
	syscalls.ArgCloneArgs: {"flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size",
		"tls", "set_tid", "set_tid_size", "cgroup"},
}

// structText renders the non-zero fields of a struct in canonical form: pointers as such, sizes as
// numbers, flags as flags.
func structText(t syscalls.ArgType, fields map[string]string) string {
	var out []string
	for _, name := range structFields[t] {
		v, ok := fields[name]
		if !ok {
			continue
		}
		if name == "pidfd" && !strings.Contains(fields["flags"], "CLONE_PIDFD") {
			continue
		}
		switch name {
		case "pidfd", "child_tid", "parent_tid", "stack", "tls", "set_tid":
			v = pointer(v)
			if v == "NULL" {
				continue
			}
		case "mode":
			if n, err := strconv.ParseUint(v, 8, 32); err == nil && n == 0 {
				continue
			}
		default:
			v = flagsText(v)
			if v == "0" {
				continue
			}
		}
		out = append(out, name+"="+v)
	}
	for name := range fields {
		known := false
		for _, k := range structFields[t] {
			known = known || k == name
		}
		if !known {
			out = append(out, name+"=?"+fields[name])
		}
	}
	return "{" + strings.Join(out, ", ") + "}"
}

// --- swoll side ---

func (c *canon) swollArg(key string, t syscalls.ArgType, raw json.RawMessage, truncated bool) arg {
	a := arg{key: key}
	var s string
	isString := json.Unmarshal(raw, &s) == nil
	isNull := string(raw) == "null"
	if structTypes[t] {
		switch {
		case isNull:
			a.val = "NULL"
		case isString && hexPointer.MatchString(s):
			a.val = pointer(s)
		default:
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			var v any
			if d.Decode(&v) != nil {
				a.val = "?" + string(raw)
				break
			}
			a.js = v
			a.val = string(raw)
		}
		return a
	}
	switch t {
	case syscalls.ArgPath, syscalls.ArgPathAtEntry, syscalls.ArgString, syscalls.ArgBufIn, syscalls.ArgBufOut,
		syscalls.ArgDataIn, syscalls.ArgDataOut, syscalls.ArgStringOut:
		switch {
		case isNull:
			a.val = "NULL"
		case isString && hexPointer.MatchString(s):
			a.val = pointer(s)
		case isString:
			a = strArg(key, s)
			a.trunc = truncated
		default:
			a.val = "?" + string(raw)
		}
	case syscalls.ArgHex, syscalls.ArgAddr:
		if isNull {
			a.val = "NULL"
		} else {
			a.val = pointer(s)
		}
	case syscalls.ArgPrctlArg:
		switch {
		case isString && hexPointer.MatchString(s):
			a.val = "<ptr>"
		case isString && isName(s): // SIGKILL, CAP_SYS_ADMIN, SUID_DUMP_USER
			a.val = flagsText(s)
		case isString:
			return strArg(key, s)
		default:
			a.val = normAtom(string(raw))
		}
	case syscalls.ArgInt, syscalls.ArgUint, syscalls.ArgSize, syscalls.ArgFd, syscalls.ArgDirFd, syscalls.ArgUID,
		syscalls.ArgLong:
		if isString {
			a.val = s
		} else {
			a.val = string(raw)
		}
	case syscalls.ArgPid:
		a.val = string(raw)
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			a.val = c.pid(n)
		}
	case syscalls.ArgStrArray:
		var items []string
		switch {
		case isNull:
			a.val = "NULL"
		case isString:
			a.val = pointer(s)
		case json.Unmarshal(raw, &items) == nil:
			a.items = items
			quoted := make([]string, len(items))
			for i := range items {
				quoted[i] = strconv.Quote(items[i])
			}
			a.val = "[" + strings.Join(quoted, ", ") + "]"
			a.trunc = truncated
		default:
			a.val = "?" + string(raw)
		}
	case syscalls.ArgSockaddrIn, syscalls.ArgSockaddrOut, syscalls.ArgOpenHow, syscalls.ArgCloneArgs:
		f, isObject := jsonObject(raw)
		switch {
		case isNull:
			a.val = "NULL"
		case isString:
			a.val = pointer(s)
		case isObject && (t == syscalls.ArgSockaddrIn || t == syscalls.ArgSockaddrOut):
			a.val = sockaddrText(f)
		case isObject:
			a.val = structText(t, f)
		default:
			a.val = "?" + string(raw)
		}
	case syscalls.ArgMode, syscalls.ArgFileMode:
		a.val = s
	case syscalls.ArgIoctlArg:
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		switch {
		case isNull:
			a.val = "NULL"
		case d.Decode(&v) != nil:
			a.val = "?" + string(raw)
		case isString && strings.HasPrefix(s, "["): // a flag set in brackets, as strace prints it
			a.js, a.val = s, s
		case isString:
			a.val = normAtom(s)
		default:
			if n, ok := v.(json.Number); ok {
				a.val = normAtom(n.String())
			} else {
				a.js, a.val = v, string(raw)
			}
		}
	default:
		if isString {
			a.val = flagsText(s)
		} else {
			a.val = flagsText(string(raw))
		}
	}
	return a
}
