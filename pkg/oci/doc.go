// Package oci is isolate's OCI runtime interface: it reads a bundle's
// config.json into the sandbox.Config that `isolate PROGRAM` also builds,
// keeps the state of containers between the separate invocations of
// create, start, state, kill and delete, and runs the host-side hooks.
//
// It follows the runtime-spec (runtime.md, config.md) and runc's command
// line, which engines such as podman, containerd and CRI-O drive.
package oci
