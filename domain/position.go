package domain

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is where an event sits in the event log: its partition and
// offset. Positions within one partition are totally ordered; positions in
// different partitions are not comparable.
type Position struct {
	Partition int32
	Offset    int64
}

// String renders p as "partition-offset", the form clients see in the
// X-Tidings-Position header.
func (p Position) String() string { return string(p.AppendText(make([]byte, 0, 24))) }

// AppendText appends p as String writes it.
func (p Position) AppendText(b []byte) []byte {
	b = strconv.AppendInt(b, int64(p.Partition), 10)
	b = append(b, '-')
	return strconv.AppendInt(b, p.Offset, 10)
}

// The largest partition and offset a position names: at most 9 and 18
// digits, which no log reaches (partitions are at most 10000; 10^18
// events take 30,000 years at a million a second). docs/openapi.yaml's
// Position pattern says the same.
const (
	MaxPartition = 999_999_999
	MaxOffset    = 999_999_999_999_999_999
)

// ParsePosition is the inverse of Position.String, and takes only what
// String writes: no signs, leading zeros or spaces ("+1-02" is refused), so
// a position has one spelling; and at most MaxPartition and MaxOffset.
// Offset -1 ("3--1") is accepted: it is the cursor before a partition's
// first event.
func ParsePosition(s string) (Position, error) {
	ps, os, ok := strings.Cut(s, "-")
	if !ok {
		return Position{}, fmt.Errorf("position %q: want partition-offset", s)
	}
	part, err := strconv.ParseInt(ps, 10, 32)
	if err != nil || part < 0 || part > MaxPartition {
		return Position{}, fmt.Errorf("position %q: bad partition", s)
	}
	off, err := strconv.ParseInt(os, 10, 64)
	if err != nil || off < -1 || off > MaxOffset {
		return Position{}, fmt.Errorf("position %q: bad offset", s)
	}
	p := Position{Partition: int32(part), Offset: off}
	if p.String() != s {
		return Position{}, fmt.Errorf("position %q: want partition-offset as the server writes it", s)
	}
	return p, nil
}
