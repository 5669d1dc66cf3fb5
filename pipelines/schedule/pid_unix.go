//go:build unix

package schedule

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// pidAlive says whether process pid runs on this host: signal 0 checks
// without sending anything (EPERM: it exists, under another user). A
// zombie (exited, not yet reaped; Linux's /proc/PID/stat state Z) is
// dead: a killed run's process can linger so under a parent that does not
// reap, as in some containers.
func pidAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc (macOS, BSD): trust kill
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
