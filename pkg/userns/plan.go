package userns

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// Method says who writes the id maps.
type Method int

const (
	// Helpers: the setuid newuidmap/newgidmap write maps that include the
	// caller's subordinate ranges.
	Helpers Method = iota
	// Direct: isolate writes /proc/PID/{uid,gid}_map itself. Without
	// privileges the kernel allows only the caller's own id, and only with
	// setgroups denied (user_namespaces(7), since Linux 3.19).
	Direct
)

// Host is what the planner needs to know about the caller and the machine.
type Host struct {
	UID, GID     uint32
	User         string
	SubUIDs      []Range
	SubGIDs      []Range
	NewUIDMap    string // path, "" when not found
	NewGIDMap    string
	HelpersSetID bool // both helpers are setuid root or carry file capabilities
	// OuterUIDs/OuterGIDs are the maps of the namespace isolate runs in,
	// read only for uid 0: they tell real root from root in a container.
	OuterUIDs, OuterGIDs []specs.LinuxIDMapping
}

// Plan is the decided mapping for one sandbox.
type Plan struct {
	UIDs, GIDs    []specs.LinuxIDMapping
	Method        Method
	SetgroupsDeny bool
	// Notice is a one-line explanation of a fallback, printed unless --quiet.
	Notice string
}

// MakePlan decides how ids are mapped. Explicit maps (--uidmap/--gidmap) win;
// otherwise the caller's subid ranges through the helpers; otherwise only the
// caller, with a notice that names why. Real root never maps host root by
// default: it gets its own subid ranges, or host nobody.
func MakePlan(h Host, uids, gids []specs.LinuxIDMapping) (Plan, error) {
	if h.UID == 0 {
		return rootPlan(h, uids, gids)
	}
	var p Plan
	reason := ""
	switch {
	case h.NewUIDMap == "" || h.NewGIDMap == "":
		reason = "newuidmap/newgidmap not found"
	case !h.HelpersSetID:
		reason = "newuidmap/newgidmap are neither setuid root nor have file capabilities"
	case len(h.SubUIDs) == 0:
		reason = fmt.Sprintf("no /etc/subuid entry for %s", h.userName())
	case len(h.SubGIDs) == 0:
		reason = fmt.Sprintf("no /etc/subgid entry for %s", h.userName())
	}
	explicit := uids != nil || gids != nil
	if reason != "" {
		if explicit && !(isOwn(uids, h.UID) && isOwn(gids, h.GID)) {
			return p, &hints.Error{
				What: "--uidmap/--gidmap",
				Why:  fmt.Errorf("mapping other ids than your own needs the setuid helpers, but %s", reason),
				Hint: hints.SubIDsOrHelpers(h.userName()),
			}
		}
		p.UIDs, p.GIDs = SingleMap(h.UID), SingleMap(h.GID)
		p.Method, p.SetgroupsDeny = Direct, true
		p.Notice = fmt.Sprintf("%s: mapping only uid %d and gid %d to root in the sandbox; %s",
			reason, h.UID, h.GID, hints.SubIDsOrHelpers(h.userName()))
		return p, nil
	}
	if !mapsToRoot(uids, h.UID) || !mapsToRoot(gids, h.GID) {
		return p, &hints.Error{
			What: "--uidmap/--gidmap",
			Why:  fmt.Errorf("the maps must map container id 0 to your own uid %d and gid %d: the sandbox starts as you and must be root inside to set itself up", h.UID, h.GID),
			Hint: fmt.Sprintf("add --uidmap 0:%d:1 --gidmap 0:%d:1 and map the other ranges from 1", h.UID, h.GID),
		}
	}
	p.Method = Helpers
	p.UIDs = SubIDMap(h.UID, h.SubUIDs)
	p.GIDs = SubIDMap(h.GID, h.SubGIDs)
	if uids != nil {
		p.UIDs = uids
	}
	if gids != nil {
		p.GIDs = gids
	}
	return p, validate(p)
}

func rootPlan(h Host, uids, gids []specs.LinuxIDMapping) (Plan, error) {
	p := Plan{Method: Direct}
	nested := h.OuterUIDs != nil && !IsInitial(h.OuterUIDs)
	switch {
	case nested:
		// Root of a user namespace already (a rootless container): its
		// ids are confined, so the sandbox maps each of them to itself.
		p.UIDs, p.GIDs = identity(h.OuterUIDs), identity(h.OuterGIDs)
	case len(h.SubUIDs) > 0 && len(h.SubGIDs) > 0:
		p.UIDs, p.GIDs = rangesFromZero(h.SubUIDs), rangesFromZero(h.SubGIDs)
	default:
		// The host's overflow id: a sandbox "root" that owns nothing on the
		// host. Mapping host root is available, but only when asked for.
		p.UIDs, p.GIDs = SingleMap(65534), SingleMap(65534)
		if uids == nil && gids == nil {
			p.Notice = "running as real root with no /etc/subuid and /etc/subgid entry for root: root in the sandbox is host nobody (65534); " + hints.RootMapping
		}
	}
	if uids != nil {
		p.UIDs = uids
	}
	if gids != nil {
		p.GIDs = gids
	}
	// The child becomes root inside with setuid(0) before its exec, so
	// container id 0 must exist.
	if !Contains(p.UIDs, 0) || !Contains(p.GIDs, 0) {
		return p, &hints.Error{What: "--uidmap/--gidmap", Why: fmt.Errorf("the maps must include container id 0")}
	}
	return p, validate(p)
}

func validate(p Plan) error {
	if err := ValidateMap(p.UIDs); err != nil {
		return &hints.Error{What: "uid map", Why: err}
	}
	if err := ValidateMap(p.GIDs); err != nil {
		return &hints.Error{What: "gid map", Why: err}
	}
	return nil
}

func identity(outer []specs.LinuxIDMapping) []specs.LinuxIDMapping {
	m := make([]specs.LinuxIDMapping, len(outer))
	for i, r := range outer {
		m[i] = specs.LinuxIDMapping{ContainerID: r.ContainerID, HostID: r.ContainerID, Size: r.Size}
	}
	return m
}

// rangesFromZero lays ranges end to end from container id 0.
func rangesFromZero(rs []Range) []specs.LinuxIDMapping {
	var m []specs.LinuxIDMapping
	next := uint32(0)
	for _, r := range rs {
		if uint64(next)+uint64(r.Count) > 1<<32-1 {
			break
		}
		m = append(m, specs.LinuxIDMapping{ContainerID: next, HostID: r.Start, Size: r.Count})
		next += r.Count
	}
	return m
}

// mapsToRoot: nil (the default) or a map with container 0 → own.
func mapsToRoot(m []specs.LinuxIDMapping, own uint32) bool {
	if m == nil {
		return true
	}
	for _, r := range m {
		if r.ContainerID == 0 {
			return r.HostID == own
		}
	}
	return false
}

func isOwn(m []specs.LinuxIDMapping, own uint32) bool {
	return m == nil || (len(m) == 1 && m[0].HostID == own && m[0].Size == 1)
}

func (h Host) userName() string {
	if h.User != "" {
		return h.User
	}
	return fmt.Sprint(h.UID)
}
