// libsystemd's readiness, watchdog and socket-activation API (sd-daemon(3)).
// Only TallyServer's `Systemd` type uses it; the rest of the code never sees C.
#include <systemd/sd-daemon.h>
