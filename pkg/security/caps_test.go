package security

import (
	"errors"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDefaultCapsAreDockers(t *testing.T) {
	// docker run --rm alpine grep CapEff /proc/self/status: 00000000a80425fb
	if DefaultCaps != 0xa80425fb {
		t.Fatalf("DefaultCaps = %#x, want 0xa80425fb (%v)", uint64(DefaultCaps), DefaultCaps.Names())
	}
}

func TestCapByNameAcceptsDockerSpellings(t *testing.T) {
	for _, n := range []string{"NET_ADMIN", "CAP_NET_ADMIN", "net_admin", "cap_net_admin", " Net_Admin "} {
		if c, err := CapByName(n); err != nil || c != 12 {
			t.Errorf("CapByName(%q) = %d, %v; want 12", n, c, err)
		}
	}
	for _, n := range []string{"", "CAP_", "NET-ADMIN", "ALL", "CAP_FOO"} {
		if _, err := CapByName(n); err == nil {
			t.Errorf("CapByName(%q) succeeded", n)
		}
	}
}

func TestResolveCaps(t *testing.T) {
	base := mustCaps("CHOWN", "KILL", "SETUID")
	for _, tc := range []struct {
		name      string
		add, drop []string
		want      CapSet
		wantErr   string
	}{
		{"nothing", nil, nil, base, ""},
		{"add one", []string{"net_admin"}, nil, base | mustCaps("NET_ADMIN"), ""},
		{"drop one", nil, []string{"CAP_KILL"}, mustCaps("CHOWN", "SETUID"), ""},
		{"drop ALL", nil, []string{"all"}, 0, ""},
		{"drop ALL, add one", []string{"SYS_ADMIN"}, []string{"ALL"}, mustCaps("SYS_ADMIN"), ""},
		{"add ALL", []string{"ALL"}, nil, AllCaps, ""},
		{"add ALL, drop one", []string{"ALL"}, []string{"SYS_ADMIN"}, AllCaps &^ mustCaps("SYS_ADMIN"), ""},
		{"unknown add", []string{"FLY"}, nil, 0, "--cap-add FLY: unknown capability"},
		{"unknown drop", nil, []string{"CAP_FLY"}, 0, "--cap-drop CAP_FLY: unknown capability"},
		{"both", []string{"NET_RAW"}, []string{"cap_net_raw"}, 0, "--cap-add/--cap-drop CAP_NET_RAW: both added and dropped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveCaps(base, tc.add, tc.drop)
			if tc.wantErr != "" {
				var ce *CapError
				if err == nil || err.Error() != tc.wantErr || !errors.As(err, &ce) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %v, %v; want %v", got.Names(), err, tc.want.Names())
			}
		})
	}
}

func TestCapSetNames(t *testing.T) {
	if got := mustCaps("SETPCAP", "chown").Names(); !reflect.DeepEqual(got, []string{"CAP_CHOWN", "CAP_SETPCAP"}) {
		t.Errorf("Names = %v", got)
	}
	if AllCaps.Has(len(capNames)) || !AllCaps.Has(len(capNames)-1) {
		t.Errorf("AllCaps = %#x has the wrong top bit", uint64(AllCaps))
	}
}

func TestLastCapKnowsTheDefaultSet(t *testing.T) {
	if LastCap() < unix.CAP_SETFCAP {
		t.Errorf("LastCap = %d", LastCap())
	}
}
