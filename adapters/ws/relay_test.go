package ws_test

import (
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/adapters/ws"
)

func TestLocalRelayContract(t *testing.T) {
	t.Parallel()
	contract.TestRelay(t, func(_ *testing.T, n int) []ws.Relay {
		r := ws.NewLocalRelay()
		rs := make([]ws.Relay, n)
		for i := range rs {
			rs[i] = r // one process: every "node" is the same relay
		}
		return rs
	})
}
