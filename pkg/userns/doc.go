// Package userns is the host side of isolate's user namespace: it reads the
// caller's subordinate id ranges (/etc/subuid, /etc/subgid), turns them into
// id maps, and writes those maps for a child process, through the setuid
// helpers newuidmap/newgidmap when they can be used, or directly when only the
// caller's own id is mapped (user_namespaces(7), "Defining user and group ID
// mappings").
//
// The parsing and map arithmetic are pure functions; only Mapper touches the
// system. It never enters a namespace itself: isolate's namespaces are created
// by clone(2) in package sandbox.
package userns
