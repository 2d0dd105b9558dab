package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// selfCPU is the CPU time (user + system) this process has used so far,
// from getrusage(2): microsecond resolution, where /proc/self/stat counts
// 10 ms ticks.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssKB reads VmRSS of pid (0: this process) from /proc/PID/status, in KiB.
func rssKB(pid int) (int64, error) {
	p := "/proc/self/status"
	if pid > 0 {
		p = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: VmRSS %q: %w", p, v, err)
			}
			return kb, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no VmRSS line", p)
}

// loadAvg is the first three fields of /proc/loadavg ("1.02 0.80 0.75"),
// what uptime(1) prints as the load average; empty when unreadable.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// gitCommit is `git rev-parse --short HEAD` of the module, with "+dirty"
// when the work tree has changes; empty when git or the repository is not
// there.
func gitCommit(ctx context.Context) string {
	root, err := moduleRoot()
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	st := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no")
	st.Dir = root
	if out, err := st.Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		commit += "+dirty"
	}
	return commit
}

// openFilesLimit is the soft and hard RLIMIT_NOFILE of pid (0: this
// process), from /proc/PID/limits ("Max open files").
func openFilesLimit(pid int) (soft, hard uint64, err error) {
	p := "/proc/self/limits"
	if pid > 0 {
		p = fmt.Sprintf("/proc/%d/limits", pid)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		parse := func(s string) uint64 {
			if s == "unlimited" {
				return 1 << 62
			}
			n, _ := strconv.ParseUint(s, 10, 64)
			return n
		}
		return parse(f[0]), parse(f[1]), nil
	}
	return 0, 0, fmt.Errorf("%s: no Max open files line", p)
}
