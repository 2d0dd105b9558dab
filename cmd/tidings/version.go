package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildInfo says which build of tidings runs: what Go embedded in the
// binary (runtime/debug.ReadBuildInfo). Fields Go could not tell are
// "unknown" ("go run" and "go test" binaries have no VCS stamp).
type buildInfo struct {
	Version  string // module version: a tag, a pseudo-version, or "(devel)"
	Revision string // VCS commit
	Time     string // commit time, RFC 3339
	Modified bool   // the work tree had uncommitted changes
	Go       string // Go version it was built with
}

// readBuildInfo returns this binary's build info.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "unknown", Revision: "unknown", Time: "unknown", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		b.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the line "tidings version" prints.
func (b buildInfo) String() string {
	mod := ""
	if b.Modified {
		mod = " (modified)"
	}
	return fmt.Sprintf("tidings %s, revision %s%s, committed %s, built with %s", b.Version, b.Revision, mod, b.Time, b.Go)
}

// logAttrs are the build info as key/value pairs for the start log.
func (b buildInfo) logAttrs() []any {
	return []any{"version", b.Version, "revision", b.Revision, "modified", b.Modified, "vcs_time", b.Time, "go", b.Go}
}

// version runs "tidings version".
func version(args []string) error {
	if helpAsked(args) {
		fmt.Println("usage: tidings version    print the version, VCS revision and Go version of this binary")
		return nil
	}
	if len(args) > 0 {
		return fmt.Errorf("tidings version takes no arguments, got %v", args)
	}
	fmt.Println(readBuildInfo())
	return nil
}

// helpAsked reports whether args ask for help (-h, -help or --help) before
// any "--".
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}
