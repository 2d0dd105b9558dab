package ws

import (
	"bytes"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

func TestReadUpToFrameMatchesEncoding(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 1, 2, 30e6, time.UTC)
	pos := domain.Position{Partition: 3, Offset: 12345}
	it := projections.FeedItem{Cursor: pos, Kind: projections.FeedReadUpTo, Status: domain.StatusRead, At: at,
		Message: domain.Message{ID: "01M", From: "p\"eer", To: "me"}}
	got := (&Hub{}).itemFrame(it)
	want := encode(readUpToFrame{Type: TypeReadUpTo, Cursor: pos.String(), Peer: "p\"eer", UpTo: "01M", At: domain.FormatTime(at)})
	if !bytes.Equal(got, want) {
		t.Fatalf("appended:\n %s\nencoding/json:\n %s", got, want)
	}
}

func TestSentFrameMatchesEncoding(t *testing.T) {
	h := &Hub{d: Deps{MessageJSON: httpapi.AppendMessageJSON}}
	at := time.Date(2026, 12, 7, 20, 1, 2, 30e6, time.UTC)
	pos := domain.Position{Partition: 3, Offset: 12345}
	m := domain.Message{ID: "01M", From: "me", To: "b", Text: "<hi> \"there\"", ClientMsgID: "c1", SentAt: at, Status: domain.StatusSent}
	got := h.itemFrame(projections.FeedItem{Cursor: pos, Kind: projections.FeedSent, Message: m})
	want := encode(messageFrame{Type: TypeSent, Cursor: pos.String(), Message: httpapi.MessageJSON(m)})
	if !bytes.Equal(got, want) {
		t.Fatalf("appended:\n %s\nencoding/json:\n %s", got, want)
	}
}
