package main

import (
	"fmt"
	"sort"
)

// verification is the end-of-run check. OK is false on any lost,
// duplicated, reordered or re-identified message, any read the server did
// not acknowledge and any missing read receipt.
type verification struct {
	OK                  bool `json:"ok"`
	Accepted            int  `json:"accepted"`
	Lost                int  `json:"lost"`
	Duplicated          int  `json:"duplicated"`
	OutOfOrder          int  `json:"out_of_order"`
	DifferentID         int  `json:"different_id"`
	MissingReadReceipts int  `json:"missing_read_receipts"`
	UnansweredReads     int  `json:"reads_never_answered"` // read frames the server never acked
	FailedReads         int  `json:"reads_refused"`        // read frames the server refused
	UnackedDelivered    int  `json:"unacknowledged_but_delivered"`
	Foreign             int  `json:"foreign_frames"`
	// DrainTimedOut says deliveries were still arriving when the drain
	// ended: missing items may be late rather than lost (raise -drain).
	DrainTimedOut bool     `json:"drain_timed_out"`
	Problems      []string `json:"problems,omitempty"` // the first few, for humans
}

const maxProblems = 20

// verify checks the ledger: each accepted message reached each device of
// its recipient exactly once (by id), in order per sender→recipient pair;
// no retry produced a second id; every read the recipient sent was
// acknowledged; and every acknowledged read reached every device of its
// sender.
func (l *ledger) verify() verification {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := verification{Foreign: l.foreign}
	add := func(format string, args ...any) {
		if len(v.Problems) < maxProblems {
			v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
		}
	}
	cids := make([]string, 0, len(l.byCID))
	for cid := range l.byCID {
		cids = append(cids, cid)
	}
	sort.Strings(cids)
	for _, cid := range cids {
		r := l.byCID[cid]
		if r.id == "" {
			for _, n := range r.recv {
				if n > 0 {
					v.UnackedDelivered++
					break
				}
			}
			continue
		}
		v.Accepted++
		for d, n := range r.recv {
			switch {
			case n == 0:
				v.Lost++
				add("LOST: message %s (%s, user %d → user %d) never reached device %d", r.id, cid, r.sender, r.recipient, d)
			case n > 1:
				v.Duplicated++
				add("DUPLICATE: message %s (%s) reached device %d of user %d %d times", r.id, cid, d, r.recipient, n)
			}
			if r.readAcked && r.receipts[d] == 0 {
				v.MissingReadReceipts++
				add("NO READ RECEIPT: message %s (%s) was read but device %d of sender %d never heard", r.id, cid, d, r.sender)
			}
		}
		switch {
		case r.readFailed != "":
			v.FailedReads++
			add("READ REFUSED: message %s (%s): the recipient's read was answered %s", r.id, cid, r.readFailed)
		case !r.readSent.IsZero() && !r.readAcked:
			v.UnansweredReads++
			add("READ NOT ANSWERED: message %s (%s): user %d sent a read the server never acknowledged", r.id, cid, r.recipient)
		}
		if len(r.otherIDs) > 0 || len(r.wrongID) > 0 {
			v.DifferentID++
			add("DIFFERENT ID: %s accepted as %s, also seen as %v %v", cid, r.id, r.otherIDs, r.wrongID)
		}
	}
	v.OutOfOrder = len(l.outOfOrder)
	for _, s := range l.outOfOrder {
		add("%s", s)
	}
	v.OK = v.Lost == 0 && v.Duplicated == 0 && v.OutOfOrder == 0 && v.DifferentID == 0 && v.MissingReadReceipts == 0 &&
		v.UnansweredReads == 0 && v.FailedReads == 0
	return v
}

func fmtOrder(r *record, device, last int) string {
	return fmt.Sprintf("OUT OF ORDER: device %d got %s (seq %d from user %d) after seq %d", device, r.id, r.seq, r.sender, last)
}
