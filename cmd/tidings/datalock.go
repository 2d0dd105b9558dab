package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// errDataInUse says another tidings process has the data directory.
var errDataInUse = errors.New("in use by another tidings process")

// lockData takes an exclusive lock on dir (the file dir/LOCK) before
// anything in it is opened, so a second process — "tidings replay" or
// "users add" run beside a server, or a second server — stops before it
// touches a store instead of half-opening it. The lock is released when
// the returned function is called or the process ends (the kernel drops
// flock locks of a dead process, so a crash never leaves it stuck).
func lockData(dir string) (unlock func() error, err error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is %w (the server is running on it?): stop it first", dir, errDataInUse)
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	return f.Close, nil
}
