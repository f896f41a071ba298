//go:build linux

package parity

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sval is one parsed strace argument: an atom (numbers, flag sets, NULL, pointers, htons(80)...), a string,
// an array or a struct.
type sval struct {
	kind  svalKind
	text  string // atom: its text without comments; str: the unescaped bytes
	trunc bool   // str: strace cut it ("..." after the quote)
	at    bool   // str: an abstract AF_UNIX name, @"name"
	names []string
	items []sval // array elements, struct fields (names[i] is "" for a field without a name)
}

type svalKind int

const (
	atomVal svalKind = iota
	strVal
	arrayVal
	structVal
)

// straceCall is one line of strace output.
type straceCall struct {
	name  string
	args  []sval
	named map[string]sval // args written "name=value" (clone)
	ret   string          // "3", "-1", "?"
	errno string          // "ENOENT", or "" on success
	line  string
}

// readStraceFiles reads the files of `strace -ff -o prefix`: one per thread, named prefix.TID.
func readStraceFiles(prefix string) (map[int][]straceCall, error) {
	matches, err := filepath.Glob(prefix + ".*")
	if err != nil {
		return nil, err
	}
	out := map[int][]straceCall{}
	for _, m := range matches {
		tid, err := strconv.Atoi(strings.TrimPrefix(m, prefix+"."))
		if err != nil {
			continue
		}
		calls, err := readStraceFile(m)
		if err != nil {
			return nil, err
		}
		out[tid] = calls
	}
	return out, nil
}

// errStraceDetached: strace lost a thread in the middle of a call (seen once on a loaded machine, in the cred
// program's kill of its paused child), so its run lacks a call that swoll saw: the run is not a reference.
var errStraceDetached = errors.New("strace detached from a thread in the middle of a call")

func readStraceFile(path string) ([]straceCall, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var calls []straceCall
	var pending string // a call interrupted by another thread's output: "<unfinished ...>"
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasSuffix(line, "<detached ...>") {
			return nil, fmt.Errorf("%s: %q: %w", path, line, errStraceDetached)
		}
		if strings.HasSuffix(line, "<unfinished ...>") {
			pending = strings.TrimSuffix(line, "<unfinished ...>")
			continue
		}
		if i := strings.Index(line, " resumed>"); strings.HasPrefix(line, "<... ") && i > 0 {
			line = pending + line[i+len(" resumed>"):]
			pending = ""
		}
		if line == "" || strings.HasPrefix(line, "+++") || strings.HasPrefix(line, "---") {
			continue
		}
		c, err := parseStraceLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		calls = append(calls, c)
	}
	return calls, sc.Err()
}

// parseStraceLine parses `name(arg, ...) = ret [ERRNO (message)]`.
func parseStraceLine(line string) (straceCall, error) {
	c := straceCall{line: line}
	open := strings.IndexByte(line, '(')
	if open <= 0 {
		return c, fmt.Errorf("not a call: %q", line)
	}
	c.name = line[:open]
	p := &sparser{s: line, i: open + 1}
	for {
		p.space()
		if p.peek() == ')' {
			p.i++
			break
		}
		name := p.fieldName()
		v, err := p.value()
		if err != nil {
			return c, fmt.Errorf("%q: %w", line, err)
		}
		if name != "" {
			if c.named == nil {
				c.named = map[string]sval{}
			}
			c.named[name] = v
		} else {
			c.args = append(c.args, v)
		}
		p.space()
		switch p.peek() {
		case ',':
			p.i++
		case ')':
		default:
			return c, fmt.Errorf("%q: unexpected %q at %d", line, p.peek(), p.i)
		}
	}
	rest := strings.TrimSpace(line[p.i:])
	if !strings.HasPrefix(rest, "=") {
		return c, fmt.Errorf("%q: no return value", line)
	}
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "="))
	// the value, and an fd's description (-y) which may hold spaces: 3</a b>, 3</x>(deleted)
	end := strings.IndexByte(rest, ' ')
	if end < 0 {
		end = len(rest)
	}
	if lt := strings.IndexByte(rest, '<'); lt >= 0 && lt < end {
		end = angleEnd(rest, lt)
		if strings.HasPrefix(rest[end:], "(deleted)") {
			end += len("(deleted)")
		}
	}
	if end == 0 {
		return c, fmt.Errorf("%q: no return value", line)
	}
	c.ret = rest[:end]
	if f := strings.Fields(rest[end:]); len(f) > 0 && strings.HasPrefix(f[0], "E") {
		c.errno = f[0]
	}
	return c, nil
}

type sparser struct {
	s string
	i int
}

func (p *sparser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// space skips blanks and strace's /* comments */ between values.
func (p *sparser) space() {
	for p.i < len(p.s) {
		switch {
		case p.s[p.i] == ' ':
			p.i++
		case strings.HasPrefix(p.s[p.i:], "/*"):
			end := strings.Index(p.s[p.i:], "*/")
			if end < 0 {
				return
			}
			p.i += end + 2
		default:
			return
		}
	}
}

// fieldName consumes `name=` (not `=>`) and returns name, or returns "" and consumes nothing.
func (p *sparser) fieldName() string {
	j := p.i
	for j < len(p.s) && (p.s[j] == '_' || p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z' || p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	if j == p.i || j+1 >= len(p.s) || p.s[j] != '=' || p.s[j+1] == '>' {
		return ""
	}
	name := p.s[p.i:j]
	p.i = j + 1
	return name
}

// value parses one value, and the "=> value" strace adds for what the kernel wrote back (which replaces it).
func (p *sparser) value() (sval, error) {
	v, err := p.single()
	if err != nil {
		return v, err
	}
	p.space()
	if strings.HasPrefix(p.s[p.i:], "=>") {
		p.i += 2
		p.space()
		after, err := p.single()
		if err != nil {
			return v, err
		}
		// For in/out integers ([110 => 2]) the value after is the result; for structs (clone3's
		// "{...} => {parent_tid=[..]}") what was passed in is the argument.
		if v.kind != structVal {
			v = after
		}
	}
	return v, nil
}

func (p *sparser) single() (sval, error) {
	p.space()
	switch c := p.peek(); {
	case c == '"':
		return p.str(false)
	case c == '@' && p.i+1 < len(p.s) && p.s[p.i+1] == '"':
		p.i++
		return p.str(true)
	case c == '~' && p.i+1 < len(p.s) && p.s[p.i+1] == '[':
		// a complemented signal set, ~[KILL STOP]
		end := strings.IndexByte(p.s[p.i:], ']')
		if end < 0 {
			return sval{}, fmt.Errorf("unterminated set")
		}
		v := sval{kind: atomVal, text: p.s[p.i : p.i+end+1]}
		p.i += end + 1
		return v, nil
	case c == '[':
		p.i++
		items, _, err := p.list(']')
		return sval{kind: arrayVal, items: items}, err
	case c == '{':
		p.i++
		items, names, err := p.list('}')
		return sval{kind: structVal, items: items, names: names}, err
	}
	return p.atom()
}

// list parses values up to end, with optional "name=" prefixes (struct fields), and a trailing "..." strace
// writes for what it left out.
func (p *sparser) list(end byte) ([]sval, []string, error) {
	var items []sval
	var names []string
	for {
		p.space()
		if p.peek() == end {
			p.i++
			return items, names, nil
		}
		if strings.HasPrefix(p.s[p.i:], "...") {
			p.i += 3
			continue
		}
		name := p.fieldName()
		v, err := p.value()
		if err != nil {
			return nil, nil, err
		}
		items = append(items, v)
		names = append(names, name)
		p.space()
		switch p.peek() {
		case ',':
			p.i++
		case end:
		default:
			return nil, nil, fmt.Errorf("unexpected %q at %d in a list", p.peek(), p.i)
		}
	}
}

// str parses a C string literal as strace writes it, and the "..." of a cut string.
func (p *sparser) str(at bool) (sval, error) {
	p.i++ // opening quote
	var b []byte
	for {
		if p.i >= len(p.s) {
			return sval{}, fmt.Errorf("unterminated string")
		}
		c := p.s[p.i]
		p.i++
		if c == '"' {
			break
		}
		if c != '\\' {
			b = append(b, c)
			continue
		}
		if p.i >= len(p.s) {
			return sval{}, fmt.Errorf("unterminated escape")
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case 'v':
			b = append(b, '\v')
		case 'f':
			b = append(b, '\f')
		case 'x':
			n, used := 0, 0
			for used < 2 && p.i < len(p.s) && isHex(p.s[p.i]) {
				d, _ := strconv.ParseUint(p.s[p.i:p.i+1], 16, 8)
				n = n*16 + int(d)
				p.i++
				used++
			}
			b = append(b, byte(n))
		default:
			if e >= '0' && e <= '7' {
				n := int(e - '0')
				for used := 1; used < 3 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '7'; used++ {
					n = n*8 + int(p.s[p.i]-'0')
					p.i++
				}
				b = append(b, byte(n))
			} else {
				b = append(b, e) // \" \\ and anything else stand for themselves
			}
		}
	}
	v := sval{kind: strVal, text: string(b), at: at}
	if strings.HasPrefix(p.s[p.i:], "...") {
		v.trunc = true
		p.i += 3
	}
	return v, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// angleEnd returns the index just past the '>' that closes the '<' at s[i]: strace -y's description of an fd
// (3</etc/hosts>, 3</dev/null<char 1:3>>, 5<TCP:[1.2.3.4:5->6.7.8.9:10]>, 3<UNIX:[1,"/a>b"]>), in which brackets,
// quoted strings, nested descriptions and the "->" of a connection do not close it. len(s) when nothing does.
func angleEnd(s string, i int) int {
	depth, brackets := 0, 0
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			for j++; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
		case c == '[':
			brackets++
		case c == ']':
			brackets--
		case c == '<':
			depth++
		case c == '>' && brackets == 0 && s[j-1] != '-':
			if depth--; depth == 0 {
				return j + 1
			}
		}
	}
	return len(s)
}

// fdAngle says whether s[i] == '<' starts an fd's description (-y), not a shift ("1<<CAP_CHOWN").
func fdAngle(s string, i int) bool {
	return s[i] == '<' && (i+1 >= len(s) || s[i+1] != '<') && (i == 0 || s[i-1] != '<')
}

// atom reads up to the next ',' ')' ']' '}' outside parentheses and strings, and drops /* comments */.
func (p *sparser) atom() (sval, error) {
	var b strings.Builder
	depth := 0
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case depth == 0 && fdAngle(p.s, p.i):
			end := angleEnd(p.s, p.i)
			b.WriteString(p.s[p.i:end])
			p.i = end
			continue
		case strings.HasPrefix(p.s[p.i:], "/*"):
			end := strings.Index(p.s[p.i:], "*/")
			if end < 0 {
				return sval{}, fmt.Errorf("unterminated comment")
			}
			p.i += end + 2
			continue
		case c == '"':
			start := p.i
			if _, err := p.str(false); err != nil {
				return sval{}, err
			}
			b.WriteString(p.s[start:p.i])
			continue
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && (c == ',' || c == ')' || c == ']' || c == '}'):
			return sval{kind: atomVal, text: strings.TrimSpace(b.String())}, nil
		case depth == 0 && strings.HasPrefix(p.s[p.i:], "=>"):
			return sval{kind: atomVal, text: strings.TrimSpace(b.String())}, nil
		}
		b.WriteByte(c)
		p.i++
	}
	return sval{}, fmt.Errorf("unterminated value")
}
