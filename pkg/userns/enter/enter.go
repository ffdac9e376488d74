// Package enter puts the skiff process into its user and mount namespaces before the Go runtime
// starts (see enter.c). Only cmd/skiff imports it, for its side effect; what it did is published
// through package userns.
package enter

/*
#cgo CFLAGS: -Wall -O2
extern int skiff_ns_acted(void);
extern int skiff_ns_rootless(void);
extern int skiff_ns_single(void);
extern int skiff_ns_uid(void);
extern int skiff_ns_gid(void);
extern const char *skiff_ns_rundir(void);
extern long long skiff_ns_t0(void);
extern long long skiff_ns_t1(void);
extern int skiff_caller_slack(void);
*/
import "C"

import (
	"fmt"
	"os"
	"strconv"

	"github.com/skiff-project/skiff/pkg/userns"
)

// stateEnv carries the state to skiff processes exec'd inside the namespaces (the skiff-image
// helper, containers/storage's re-exec helpers), whose constructor does nothing.
const stateEnv = "_SKIFF_NS_STATE"

func init() {
	userns.SetTimes(int64(C.skiff_ns_t0()), int64(C.skiff_ns_t1()))
	if v := C.skiff_caller_slack(); v >= 0 {
		os.Setenv("_SKIFF_TIMERSLACK", strconv.Itoa(int(v))) // container.TimerSlackEnv
	}
	if C.skiff_ns_acted() != 0 {
		os.Setenv("_SKIFF_NS_ENTERED", "1")
	} else if s := os.Getenv(stateEnv); s != "" && os.Getenv("_SKIFF_NS_ENTERED") != "" {
		var st userns.State
		if _, err := fmt.Sscanf(s, "%t %t %d %d %q", &st.Rootless, &st.SingleID, &st.UID, &st.GID, &st.RunDir); err == nil {
			st.Entered = st.Rootless
			userns.Set(st)
		}
		return
	}
	if C.skiff_ns_rootless() == 0 {
		// root in its private mount namespace (children see _SKIFF_NS_ENTERED), or a command
		// that runs outside any namespace, such as images or version, and starts no helper
		return
	}
	uid, gid := int(C.skiff_ns_uid()), int(C.skiff_ns_gid())
	userns.Set(userns.State{
		Entered:  true,
		Rootless: true,
		SingleID: C.skiff_ns_single() != 0,
		UID:      uid,
		GID:      gid,
		RunDir:   C.GoString(C.skiff_ns_rundir()),
	})
	st := userns.Current()
	os.Setenv(stateEnv, fmt.Sprintf("%t %t %d %d %q", st.Rootless, st.SingleID, st.UID, st.GID, st.RunDir))
	// containers/storage reads these to know it runs rootless inside a configured namespace.
	os.Setenv("_CONTAINERS_USERNS_CONFIGURED", "done")
	os.Setenv("_CONTAINERS_ROOTLESS_UID", strconv.Itoa(uid))
	os.Setenv("_CONTAINERS_ROOTLESS_GID", strconv.Itoa(gid))
}
