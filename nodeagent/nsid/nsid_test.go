//go:build linux

package nsid

import (
	"os"
	"testing"
)

func TestMountNSIDOfSelf(t *testing.T) {
	self, byInode, err := MountNSID(0)
	if err != nil {
		t.Fatal(err)
	}
	if self == 0 {
		t.Fatal("mount namespace id is 0")
	}
	byPid, byInode2, err := MountNSID(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if byPid != self || byInode != byInode2 {
		t.Fatalf("id by pid %d (inode %v) differs from self %d (inode %v)", byPid, byInode2, self, byInode)
	}
}

func TestMountNSIDOfMissingPid(t *testing.T) {
	if _, _, err := MountNSID(1 << 30); err == nil {
		t.Fatal("expected an error for a pid that does not exist")
	}
}
