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

// ParsePosition is the inverse of Position.String. Offset -1 ("3--1") is
// accepted: it is the cursor before a partition's first event.
func ParsePosition(s string) (Position, error) {
	ps, os, ok := strings.Cut(s, "-")
	if !ok {
		return Position{}, fmt.Errorf("position %q: want partition-offset", s)
	}
	part, err := strconv.ParseInt(ps, 10, 32)
	if err != nil || part < 0 {
		return Position{}, fmt.Errorf("position %q: bad partition", s)
	}
	off, err := strconv.ParseInt(os, 10, 64)
	if err != nil || off < -1 {
		return Position{}, fmt.Errorf("position %q: bad offset", s)
	}
	return Position{Partition: int32(part), Offset: off}, nil
}
