package vsphere

import "testing"

func TestGuestMapping(t *testing.T) {
	tests := []struct{ guest, arch, os string }{
		{"ubuntu64Guest", "x86_64", "linux"},
		{"rhel6Guest", "i386", "linux"},
		{"windows9_64Guest", "x86_64", "windows"},
		{"winXPProGuest", "i386", "windows"},
		{"freebsd64Guest", "x86_64", "bsd"},
		{"otherGuest", "i386", "other"},
		{"otherGuest64", "x86_64", "other"},
		{"other5xLinux64Guest", "x86_64", "linux"},
		{"otherArm64LinuxGuest", "arm64", "linux"},
		{"", "", ""},
	}
	for _, tc := range tests {
		if a, o := archOf(tc.guest), osOf(tc.guest); a != tc.arch || o != tc.os {
			t.Errorf("%q: arch %q os %q, want %q %q", tc.guest, a, o, tc.arch, tc.os)
		}
	}
}
