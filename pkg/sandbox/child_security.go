package sandbox

// dropPrivileges runs last before PROGRAM starts, on the locked thread that
// forks or execs it (capabilities are per thread).
func dropPrivileges(cfg *Config) error {
	return nil
}
