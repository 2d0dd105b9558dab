package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEmbeddedServerListensOnlyOnTheAPI finds every listening socket the
// server process owns (its file descriptors that are sockets, matched
// against the kernel's TCP and UDP tables) and checks that the only one is
// the HTTP API: the embedded event log is in-process, with no broker port
// that another local process could read or forge events through.
func TestEmbeddedServerListensOnlyOnTheAPI(t *testing.T) {
	if !embeddedBackends() {
		t.Skip("the embedded backends' listeners; real backends listen by design")
	}
	if _, err := os.Stat("/proc/self/net/tcp"); err != nil {
		t.Skip("needs Linux /proc")
	}
	in := newInstance(t)
	s := in.start(t, serverOptions{})
	got := listeners(t, s.cmd.Process.Pid)
	_, port, _ := strings.Cut(s.addr, ":")
	want := fmt.Sprintf("tcp 127.0.0.1:%s", port)
	if len(got) != 1 || got[0] != want {
		t.Fatalf("the server listens on %v, want only the API (%s)", got, want)
	}
}

// listeners returns "proto addr:port" for every listening TCP socket and
// every bound UDP socket of process pid.
func listeners(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []struct{ proto, file, state string }{
		{"tcp", "tcp", "0A"}, {"tcp", "tcp6", "0A"}, // 0A: LISTEN
		{"udp", "udp", ""}, {"udp", "udp6", ""},
	} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table.file))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || !inodes[fields[9]] || (table.state != "" && fields[3] != table.state) {
				continue
			}
			out = append(out, table.proto+" "+hexAddr(fields[1]))
		}
		_ = f.Close()
	}
	return out
}

// hexAddr renders /proc/net's "0100007F:1F90" as "127.0.0.1:8080" (IPv4;
// IPv6 addresses stay in hex).
func hexAddr(s string) string {
	ip, port, _ := strings.Cut(s, ":")
	p, _ := strconv.ParseUint(port, 16, 16)
	if len(ip) != 8 {
		return fmt.Sprintf("[%s]:%d", ip, p)
	}
	var b [4]uint64
	for i := range b {
		b[i], _ = strconv.ParseUint(ip[2*i:2*i+2], 16, 8)
	}
	return fmt.Sprintf("%d.%d.%d.%d:%d", b[3], b[2], b[1], b[0], p)
}
