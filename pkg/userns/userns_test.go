package userns

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSubIDs(t *testing.T) {
	const file = `# comment
alice:100000:65536
1000:200000:10
bob:300000:65536
alice:400000:5
alice:bad:5
alice:1:0
alice:4294967295:2
broken line
`
	cases := []struct {
		name string
		id   uint32
		want []Range
	}{
		{"alice", 1000, []Range{{100000, 65536}, {200000, 10}, {400000, 5}}},
		{"bob", 1001, []Range{{300000, 65536}}},
		{"carol", 1002, nil},
		{"", 1000, []Range{{200000, 10}}},
	}
	for _, c := range cases {
		got, err := ParseSubIDs(strings.NewReader(file), c.name, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s/%d: got %v, want %v", c.name, c.id, got, c.want)
		}
	}
}

func m(c, h, n uint32) specs.LinuxIDMapping {
	return specs.LinuxIDMapping{ContainerID: c, HostID: h, Size: n}
}

func TestSubIDMapPutsCallerAtZeroAndRangesAfter(t *testing.T) {
	got := SubIDMap(1000, []Range{{100000, 65536}, {400000, 5}})
	want := []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 65536), m(65537, 400000, 5)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if args := HelperArgs(got); strings.Join(args, " ") != "0 1000 1 1 100000 65536 65537 400000 5" {
		t.Errorf("helper args = %v", args)
	}
}

func TestParseMapping(t *testing.T) {
	good := map[string]specs.LinuxIDMapping{"0:1000:1": m(0, 1000, 1), "1:100000:65536": m(1, 100000, 65536)}
	for s, want := range good {
		got, err := ParseMapping(s)
		if err != nil || got != want {
			t.Errorf("ParseMapping(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "1:2", "1:2:3:4", "a:1:1", "1:1:0", "-1:1:1", "1:4294967296:1"} {
		if _, err := ParseMapping(s); err == nil {
			t.Errorf("ParseMapping(%q) accepted a bad range", s)
		}
	}
}

func TestValidateMap(t *testing.T) {
	cases := []struct {
		m   []specs.LinuxIDMapping
		bad string
	}{
		{[]specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 65536)}, ""},
		{nil, "empty"},
		{[]specs.LinuxIDMapping{m(0, 1000, 10), m(5, 2000, 10)}, "overlap inside"},
		{[]specs.LinuxIDMapping{m(0, 1000, 10), m(20, 1005, 10)}, "overlap on the host"},
		{[]specs.LinuxIDMapping{m(4294967290, 0, 10)}, "overflows"},
	}
	for _, c := range cases {
		err := ValidateMap(c.m)
		if (err == nil) != (c.bad == "") || (err != nil && !strings.Contains(err.Error(), c.bad)) {
			t.Errorf("ValidateMap(%v) = %v, want %q", c.m, err, c.bad)
		}
	}
	many := make([]specs.LinuxIDMapping, 341)
	for i := range many {
		many[i] = m(uint32(i), uint32(1000+i), 1)
	}
	if err := ValidateMap(many); err == nil || !strings.Contains(err.Error(), "at most 340") {
		t.Errorf("341 ranges: %v", err)
	}
}

func TestMakePlan(t *testing.T) {
	full := Host{UID: 1000, GID: 1000, User: "alice", SubUIDs: []Range{{100000, 65536}}, SubGIDs: []Range{{100000, 65536}},
		NewUIDMap: "/usr/bin/newuidmap", NewGIDMap: "/usr/bin/newgidmap", HelpersSetID: true}
	noHelpers := full
	noHelpers.NewUIDMap = ""
	notSetuid := full
	notSetuid.HelpersSetID = false
	noSubGID := full
	noSubGID.SubGIDs = nil
	root := Host{UID: 0, GID: 0, User: "root"}
	rootRanges := root
	rootRanges.SubUIDs, rootRanges.SubGIDs = []Range{{500000, 65536}}, []Range{{600000, 65536}}

	nestedRoot := root
	nestedRoot.OuterUIDs = []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 65536)}
	nestedRoot.OuterGIDs = nestedRoot.OuterUIDs
	realRoot := root
	realRoot.OuterUIDs = []specs.LinuxIDMapping{m(0, 0, 4294967295)}
	realRoot.OuterGIDs = realRoot.OuterUIDs
	cases := []struct {
		name       string
		h          Host
		uids, gids []specs.LinuxIDMapping
		method     Method
		uidMap     []specs.LinuxIDMapping
		notice     string
		err        string
	}{
		{name: "helpers and ranges", h: full, method: Helpers, uidMap: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 65536)}},
		{name: "no helpers", h: noHelpers, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 1000, 1)}, notice: "newuidmap/newgidmap not found"},
		{name: "helpers not setuid", h: notSetuid, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 1000, 1)}, notice: "neither setuid root"},
		{name: "no subgid", h: noSubGID, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 1000, 1)}, notice: "no /etc/subgid entry for alice"},
		{name: "explicit with helpers", h: full, uids: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 10)}, method: Helpers, uidMap: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 10)}},
		{name: "explicit without own id at 0", h: full, uids: []specs.LinuxIDMapping{m(0, 100000, 10)}, err: "must map container id 0 to your own uid 1000"},
		{name: "explicit other ids without helpers", h: noHelpers, uids: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 10)}, err: "needs the setuid helpers"},
		{name: "explicit own id without helpers", h: noHelpers, uids: []specs.LinuxIDMapping{m(0, 1000, 1)}, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 1000, 1)}, notice: "not found"},
		{name: "root without ranges is nobody", h: root, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 65534, 1)}, notice: "host nobody"},
		{name: "root with ranges", h: rootRanges, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 500000, 65536)}},
		{name: "root asks for host root", h: root, uids: []specs.LinuxIDMapping{m(0, 0, 65536)}, gids: []specs.LinuxIDMapping{m(0, 0, 65536)}, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 0, 65536)}},
		{name: "root of a nested namespace maps its ids to themselves", h: nestedRoot, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 0, 1), m(1, 1, 65536)}},
		{name: "real root is not mistaken for nested", h: realRoot, method: Direct, uidMap: []specs.LinuxIDMapping{m(0, 65534, 1)}, notice: "host nobody"},
		{name: "root map without container 0", h: root, uids: []specs.LinuxIDMapping{m(1, 0, 1)}, err: "must include container id 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := MakePlan(c.h, c.uids, c.gids)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Method != c.method || !reflect.DeepEqual(p.UIDs, c.uidMap) {
				t.Errorf("plan = %+v, want method %v, uids %v", p, c.method, c.uidMap)
			}
			if (c.notice == "") != (p.Notice == "") || !strings.Contains(p.Notice, c.notice) {
				t.Errorf("notice = %q, want %q", p.Notice, c.notice)
			}
			if p.Method == Direct && c.h.UID != 0 && !p.SetgroupsDeny {
				t.Errorf("unprivileged direct map must deny setgroups")
			}
		})
	}
}

func TestParseMapFile(t *testing.T) {
	got, err := ParseMapFile("         0       1000          1\n         1     100000      65536\n")
	if err != nil || !reflect.DeepEqual(got, []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 65536)}) {
		t.Errorf("got %v, %v", got, err)
	}
	init, _ := ParseMapFile("0 0 4294967295\n")
	if !IsInitial(init) || IsInitial(got) {
		t.Error("IsInitial is wrong")
	}
}

func TestUserNameIsFoundByUIDInPasswd(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/bash\n#x:x:1002:1::/:\nbad line\nalice:x:1002:1002::/home/alice:/bin/sh\nbob:x:10020:1::/:\n"
	for uid, want := range map[uint32]string{0: "root", 1002: "alice", 10020: "bob", 7: ""} {
		if got := UserName(strings.NewReader(passwd), uid); got != want {
			t.Errorf("UserName(%d) = %q, want %q", uid, got, want)
		}
	}
}

func TestFormatMapFileIsOneLinePerRange(t *testing.T) {
	got := formatMapFile([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 165536, Size: 65536}})
	if want := "0 1000 1\n1 165536 65536\n"; got != want {
		t.Errorf("formatMapFile = %q, want %q", got, want)
	}
}
