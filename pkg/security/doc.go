// Package security takes away what a sandboxed program does not need, in
// the order the kernel requires, on the calling OS thread:
//
//  1. working directory check and close-on-exec for every fd above 2
//     (CVE-2024-21626: a leaked fd or a cwd outside the root is a way out);
//  2. Landlock ruleset built (it opens the writable paths);
//  3. capability bounding set dropped (needs CAP_SETPCAP, so before 4 and 5);
//  4. user and groups switched, for this thread only;
//  5. permitted/effective/inheritable sets set, ambient cleared;
//  6. no_new_privs (no setuid bit or file capability grants anything, and
//     it lets 7 and 8 run without CAP_SYS_ADMIN);
//  7. Landlock enforced;
//  8. seccomp filter loaded last, so it only has to allow what the program
//     itself and the final fork/exec need.
//
// Capabilities, credentials, no_new_privs, Landlock and seccomp (without
// TSYNC) are all per thread for the kernel: call Apply on a thread locked
// with runtime.LockOSThread that then forks or execs the program, and never
// unlock it (Go then ends the thread instead of reusing it).
//
// The pure parts (capability names and sets, seccomp profiles and their BPF
// compilation, Landlock access rights per ABI) are plain functions with
// table tests. Do not use this package for a process that keeps running Go
// code on other threads and expects them to be confined: they are not.
package security

//go:generate go run gen_sysnum.go
