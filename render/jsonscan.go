package render

// A minimal, allocation-free reader for the JSON the agent writes, enough to walk an args object. It never
// panics on malformed input: callers fall back to printing the raw text.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the closing quote of the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(b), false
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := stringEnd(b, j)
				if !ok {
					return len(b), false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(b), false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !isSpace(b[j]) {
		j++
	}
	return j, j > i
}

// members walks the members of a JSON object or the elements of an array.
type members struct {
	b   []byte
	i   int
	obj bool
	err bool
}

func newMembers(b []byte) members {
	i := skipSpace(b, 0)
	if i >= len(b) || (b[i] != '{' && b[i] != '[') {
		return members{b: b, i: len(b), err: true}
	}
	return members{b: b, i: i + 1, obj: b[i] == '{'}
}

// next returns the next key (the raw string body, without quotes; nil in arrays) and raw value.
func (m *members) next() (key, val []byte, ok bool) {
	b := m.b
	i := skipSpace(b, m.i)
	if i >= len(b) {
		m.err = true
		return nil, nil, false
	}
	if b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] == '}' || b[i] == ']' {
		m.i = len(b)
		return nil, nil, false
	}
	if m.obj {
		if b[i] != '"' {
			m.err, m.i = true, len(b)
			return nil, nil, false
		}
		end, ok := stringEnd(b, i)
		if !ok {
			m.err, m.i = true, len(b)
			return nil, nil, false
		}
		key = b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			m.err, m.i = true, len(b)
			return nil, nil, false
		}
		i = skipSpace(b, i+1)
	}
	end, ok := valueEnd(b, i)
	if !ok {
		m.err, m.i = true, len(b)
		return nil, nil, false
	}
	m.i = end
	return key, b[i:end], true
}

// lookup returns the raw value of key in the JSON object obj.
func lookup(obj []byte, key string) ([]byte, bool) {
	m := newMembers(obj)
	for {
		k, v, ok := m.next()
		if !ok {
			return nil, false
		}
		if string(k) == key {
			return v, true
		}
	}
}
