package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// diagnose looks up the first lost messages through REST, as their
// recipient, so the report says whether the message itself is gone (not in
// the views) or only its push was (in the views, never pushed): two very
// different bugs.
func (r *runner) diagnose(ctx context.Context, v *verification) {
	if v.Lost == 0 {
		return
	}
	r.ledger.mu.Lock()
	var lost []*record
	for _, rec := range r.ledger.byCID {
		if rec.id == "" {
			continue
		}
		for _, n := range rec.recv {
			if n == 0 {
				lost = append(lost, rec)
				break
			}
		}
		if len(lost) >= 10 {
			break
		}
	}
	r.ledger.mu.Unlock()
	inViews := 0
	for _, rec := range lost {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var m restMessage
		err := r.api.do(ctx, http.MethodGet, "/messages/"+rec.id, r.users[rec.recipient].Token, nil, &m)
		cancel()
		state := "in the recipient's views (status " + m.Status + "): the PUSH was lost"
		if err != nil {
			state = "NOT in the recipient's views (" + err.Error() + "): the MESSAGE was lost"
		} else {
			inViews++
		}
		v.Problems = append(v.Problems, fmt.Sprintf("DIAGNOSIS: %s (%s) is %s", rec.id, rec.cid, state))
	}
	v.Problems = append(v.Problems, fmt.Sprintf("DIAGNOSIS: %d of %d lost messages checked are in the views", inViews, len(lost)))
}
