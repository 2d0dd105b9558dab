// Package migrations loads the versioned schema files that the real-store
// adapters embed (PostgreSQL .sql, Cassandra .cql). It is shared by those
// adapters and imports nothing of theirs.
package migrations

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
)

// File is one migration: NNNN_name.ext, version NNNN.
type File struct {
	Version  int
	Name     string
	Body     []byte
	Checksum [sha256.Size]byte
}

// Load returns the files of dir in fsys named NNNN_name.ext, by version.
// Versions must run 1, 2, 3, ... without gaps or repeats; any other file
// is an error.
func Load(fsys fs.FS, dir, ext string) ([]File, error) {
	name := regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.` + regexp.QuoteMeta(ext) + `$`)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []File
	for _, e := range entries {
		sub := name.FindStringSubmatch(e.Name())
		if sub == nil {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.%s", e.Name(), ext)
		}
		v, _ := strconv.Atoi(sub[1]) // four digits always parse
		b, err := fs.ReadFile(fsys, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, File{Version: v, Name: e.Name(), Body: b, Checksum: sha256.Sum256(b)})
	}
	slices.SortFunc(out, func(a, b File) int { return a.Version - b.Version })
	for i, f := range out {
		if f.Version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d (versions run from 1 without gaps)", f.Name, f.Version, i+1)
		}
	}
	return out, nil
}
