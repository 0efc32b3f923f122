package hints

// Fix-it texts of the security options.
const (
	CapabilityNames = "name capabilities as in capabilities(7), with or without CAP_ (NET_ADMIN, cap_net_admin), or ALL"
	SeccompProfile  = "give a seccomp profile in docker's or the OCI JSON format (e.g. moby's default.json), or --seccomp unconfined"
	LandlockMissing = "this kernel has no Landlock (Linux 5.13+, CONFIG_SECURITY_LANDLOCK=y, \"landlock\" in the lsm= boot parameter); use --landlock auto or off"
)
