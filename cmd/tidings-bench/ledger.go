package main

import (
	"sync"
	"time"
)

// ledger remembers every message the run sent and everything the devices
// received about it; the verifier reads it at the end. Safe for concurrent
// use.
type ledger struct {
	devices int // per user

	mu    sync.Mutex
	byCID map[string]*record
	byID  map[string]*record
	// lastSeq[device][sender] is the sequence number of the last message
	// from sender the device received (ordering per sender→recipient pair).
	lastSeq    []map[int]int
	outOfOrder []string
	foreign    int // frames about messages this run did not send
	stats      counters

	accept, e2e, readRTT *histogram // whole run
	win                  window     // the current second
}

// record is one message of the run.
type record struct {
	cid        string
	sender     int
	recipient  int
	seq        int
	scheduled  time.Time
	accepted   time.Time // zero until a send succeeds
	id         string
	otherIDs   []string // ids that differ from id (a retry made a second message)
	recv       []int    // message frames per recipient device
	recvAt     []time.Time
	wrongID    []string // frames carrying this client_msg_id with another id
	readAcked  bool
	readSent   time.Time // zero until the recipient sends its read
	readFailed string    // the error code of a read the server refused
	receipts   []int     // read receipts per sender device
}

// counters are the run's running totals.
type counters struct {
	Scheduled int64 `json:"scheduled"`
	Accepted  int64 `json:"accepted"`
	Received  int64 `json:"received_frames"`
	Reads     int64 `json:"reads_acked"`
	Receipts  int64 `json:"read_receipts"`
	Retries   int64 `json:"send_retries"`
	Reconnect int64 `json:"reconnects"`
}

// window holds the figures of the current second for the time series.
type window struct {
	accept, e2e        *histogram
	accepted, received int64
}

func newLedger(users, devices int) *ledger {
	l := &ledger{devices: devices, byCID: map[string]*record{}, byID: map[string]*record{},
		lastSeq: make([]map[int]int, users*devices),
		accept:  newHistogram(), e2e: newHistogram(), readRTT: newHistogram(),
		win: window{accept: newHistogram(), e2e: newHistogram()}}
	for i := range l.lastSeq {
		l.lastSeq[i] = map[int]int{}
	}
	return l
}

// scheduled registers a message before its first send attempt.
func (l *ledger) scheduled(cid string, sender, recipient, seq int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byCID[cid] = &record{cid: cid, sender: sender, recipient: recipient, seq: seq, scheduled: at,
		recv: make([]int, l.devices), recvAt: make([]time.Time, l.devices), receipts: make([]int, l.devices)}
	l.stats.Scheduled++
}

// accepted records a successful send. A retry that returns another id than
// an earlier attempt is remembered: the server made two messages.
func (l *ledger) accepted(cid, id string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.byCID[cid]
	if r == nil {
		return
	}
	if r.id != "" {
		if r.id != id {
			r.otherIDs = append(r.otherIDs, id)
		}
		return
	}
	r.id, r.accepted = id, at
	if old, ok := l.byID[id]; ok && old != r {
		old.otherIDs = append(old.otherIDs, id)
	}
	l.byID[id] = r
	l.stats.Accepted++
	l.win.accepted++
	lat := at.Sub(r.scheduled)
	l.accept.Record(lat)
	l.win.accept.Record(lat)
	// Frames that beat the response count as pushed at once.
	for d, t := range r.recvAt {
		if !t.IsZero() {
			l.recordE2E(max(t.Sub(at), 0))
			r.recvAt[d] = time.Time{}
		}
	}
}

func (l *ledger) recordE2E(d time.Duration) {
	l.e2e.Record(d)
	l.win.e2e.Record(d)
}

// received records a message frame on a device (user*devices+d). When
// the frame is the first of its message on that device and read says the
// device marks seq read (read may be nil: never), it records the read as
// sent at at and returns true: the caller sends the read frame.
func (l *ledger) received(device int, cid, id string, at time.Time, read func(seq int) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Received++
	l.win.received++
	r := l.byCID[cid]
	if r == nil {
		l.foreign++
		return false
	}
	if r.id != "" && r.id != id {
		r.wrongID = append(r.wrongID, id)
		return false
	}
	if r.id == "" {
		// Pushed before the send's response: remember the id now.
		l.byID[id] = r
	}
	d := device % l.devices
	r.recv[d]++
	if r.recv[d] > 1 {
		return false
	}
	if last, ok := l.lastSeq[device][r.sender]; ok && r.seq <= last {
		l.outOfOrder = append(l.outOfOrder, fmtOrder(r, device, last))
	}
	l.lastSeq[device][r.sender] = max(r.seq, l.lastSeq[device][r.sender])
	if r.accepted.IsZero() {
		r.recvAt[d] = at
	} else {
		l.recordE2E(max(at.Sub(r.accepted), 0))
	}
	if read == nil || !read(r.seq) {
		return false
	}
	if r.readSent.IsZero() {
		r.readSent = at
	}
	return true
}

// readFailed records that the server refused the recipient's read of
// message id with code (not internal: that one is retried).
func (l *ledger) readFailed(id, code string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.byID[id]; r != nil && r.readFailed == "" {
		r.readFailed = code
	}
}

// readAcked records that the recipient's read of message id was acknowledged.
func (l *ledger) readAcked(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.byID[id]; r != nil && !r.readAcked {
		r.readAcked = true
		l.stats.Reads++
	}
}

// receipt records a read receipt on one of the sender's devices.
func (l *ledger) receipt(device int, id string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.byID[id]
	if r == nil {
		l.foreign++
		return
	}
	d := device % l.devices
	r.receipts[d]++
	if r.receipts[d] == 1 {
		l.stats.Receipts++
		if d == 0 && !r.readSent.IsZero() {
			l.readRTT.Record(at.Sub(r.readSent))
		}
	}
}

func (l *ledger) count(f func(*counters)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}

func (l *ledger) snapshot() counters {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// takeWindow returns the current second's figures and starts a new one.
func (l *ledger) takeWindow() window {
	l.mu.Lock()
	w := l.win
	l.win = window{accept: newHistogram(), e2e: newHistogram()}
	l.mu.Unlock()
	return w
}

// settled reports whether every accepted message reached every device of
// its recipient, every read sent was answered, and every acked read
// reached every device of its sender.
func (l *ledger) settled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.byCID {
		if r.id == "" {
			continue
		}
		if !r.readSent.IsZero() && !r.readAcked && r.readFailed == "" {
			return false
		}
		for d := range r.recv {
			if r.recv[d] == 0 || (r.readAcked && r.receipts[d] == 0) {
				return false
			}
		}
	}
	return true
}
