package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// probeLag measures the projection lag: how long after POST /messages
// answers the message is visible to its recipient in GET /messages/{id}
// (polled every millisecond). It runs -lag-probe times a second between
// two users of its own.
func (r *runner) probeLag(ctx context.Context, from, to user) {
	t := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.LagProbe))
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var m restMessage
		body := map[string]string{"to": to.ID, "text": "lag probe", "client_msg_id": fmt.Sprintf("probe-%d", n)}
		if err := r.api.do(ctx, http.MethodPost, "/messages", from.Token, body, &m); err != nil {
			continue
		}
		accepted := time.Now()
		for ctx.Err() == nil && time.Since(accepted) < 10*time.Second {
			err := r.api.do(ctx, http.MethodGet, "/messages/"+m.ID, to.Token, nil, nil)
			var ae *apiError
			if err == nil {
				r.lag.Record(time.Since(accepted))
				break
			}
			if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}
