//go:build linux

package tracer

import "unsafe"

func unsafePointer(s string) unsafe.Pointer {
	b := append([]byte(s), 0)
	return unsafe.Pointer(&b[0])
}
