// Package parity holds the strace parity test: small C programs make known system calls, once under strace
// and once under swoll-agent trace, and every call's name, return value, errno and decoded arguments must
// agree. It has no code outside its tests.
package parity
