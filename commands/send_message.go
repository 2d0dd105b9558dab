package commands

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// SendMessage asks to send Text from From to To. ClientMsgID, when set,
// makes the send idempotent: every retry with the same ClientMsgID from the
// same sender returns the same message, and only one message exists.
type SendMessage struct {
	From        domain.UserID
	To          domain.UserID
	Text        string
	ClientMsgID string
	// ReplyTo, when set, names the message this one replies to: one of
	// the conversation that From sees (reply.go).
	ReplyTo domain.MessageID
}

// Sent is the accepted message and the position of its event.
type Sent struct {
	Message  domain.Message
	Position domain.Position
}

// SendMessageHandler validates a send and appends MessageSent.
type SendMessageHandler struct {
	log      EventLog
	accounts Accounts
	sends    SendLog
	messages MessageReader
	limiter  Limiter
	sealer   Sealer      // nil: text is appended as it is
	known    *knownUsers // recipients the accounts store confirmed lately
	sync     ViewSync    // for a reply to a message just appended (reply.go)
	now      func() time.Time
}

// Handle validates cmd and appends its MessageSent event, returning once the
// event is durable.
//
// Idempotency: the (From, ClientMsgID) pair is reserved in the send log with
// the message id and time before anything is appended. A retry finds the
// reservation and appends the identical event again (same id, same time);
// projectors keep the first copy, so a retry never creates a second
// message, whether the first attempt failed before, during or after its
// append. A reused ClientMsgID with another recipient or text is rejected
// with CodeIdempotencyConflict.
func (h SendMessageHandler) Handle(ctx context.Context, cmd SendMessage) (Sent, error) {
	if err := validateSend(cmd); err != nil {
		return Sent{}, err
	}
	if h.limiter != nil {
		if err := h.limiter.Allow(ctx, string(cmd.From)); err != nil {
			return Sent{}, err
		}
	}
	if err := h.checkRecipient(ctx, cmd.To); err != nil {
		return Sent{}, err
	}
	replyVersion := 0
	if cmd.ReplyTo != "" { // only a reply pays this read (reply.go)
		var err error
		if replyVersion, err = replyTarget(ctx, h.messages, h.sync, cmd); err != nil {
			return Sent{}, err
		}
	}
	now := h.now()
	ev := domain.MessageSent{
		ID:           domain.MessageID(domain.NewID(now)),
		From:         cmd.From,
		To:           cmd.To,
		Text:         cmd.Text,
		ClientMsgID:  cmd.ClientMsgID,
		SentAt:       now,
		ReplyTo:      cmd.ReplyTo,
		ReplyVersion: replyVersion,
	}
	retry := false
	if cmd.ClientMsgID != "" {
		rec, created, err := h.sends.Reserve(ctx, SendRecord{
			From: cmd.From, ClientMsgID: cmd.ClientMsgID, ID: ev.ID, To: cmd.To, SentAt: now,
			Digest: sendDigest(cmd.To, cmd.Text, cmd.ReplyTo),
		})
		if err != nil {
			return Sent{}, fmt.Errorf("reserve client_msg_id: %w", err)
		}
		if rec.Digest != sendDigest(cmd.To, cmd.Text, cmd.ReplyTo) {
			return Sent{}, domain.Errorf(domain.CodeIdempotencyConflict,
				"client_msg_id %q was already used for another message", cmd.ClientMsgID)
		}
		ev.ID, ev.SentAt = rec.ID, rec.SentAt
		retry = !created
		ev.Retry = retry
	}
	m := ev.AsMessage()
	if h.sealer != nil {
		sealed, err := h.sealer.Seal(ctx, ev.From, ev.To, ev.ID, ev.Text)
		if err != nil {
			return Sent{}, fmt.Errorf("seal text of %s: %w", ev.ID, err)
		}
		ev.Text = sealed
	}
	pos, err := h.log.Append(ctx, ev)
	if err != nil {
		return Sent{}, fmt.Errorf("append %s %s: %w", ev.Type(), ev.ID, err)
	}
	if retry && h.messages != nil {
		// A retry answers with the message as it stands (it may be read by
		// now), when the views already have it; its text is the command's
		// (the digest matched), whatever form the views keep it in.
		if cur, err := h.messages.Message(ctx, cmd.From, ev.ID); err == nil {
			cur.Text, cur.Erased = m.Text, false
			m = cur
		}
	}
	return Sent{Message: m, Position: pos}, nil
}

// checkRecipient returns CodeUnknownRecipient unless to is an account.
func (h SendMessageHandler) checkRecipient(ctx context.Context, to domain.UserID) error {
	if h.known != nil && h.known.has(to) {
		return nil
	}
	if _, err := h.accounts.User(ctx, to); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Errorf(domain.CodeUnknownRecipient, "no user with id %q", to)
		}
		return fmt.Errorf("look up recipient: %w", err)
	}
	if h.known != nil {
		h.known.add(to)
	}
	return nil
}

func validateSend(cmd SendMessage) error {
	if cmd.To == "" {
		return domain.Errorf(domain.CodeMissingField, "to is required")
	}
	if !domain.ValidID(string(cmd.To)) {
		return domain.Errorf(domain.CodeUnknownRecipient, "no user with id %q", cmd.To)
	}
	if cmd.To == cmd.From {
		return domain.Errorf(domain.CodeInvalidField, "to must be another user")
	}
	if err := domain.ValidateText(cmd.Text); err != nil {
		return err
	}
	return domain.ValidateClientMsgID(cmd.ClientMsgID)
}

// sendDigest is the digest of a send's recipient, text and (for a reply
// only, so a plain send's digest is as before) the message it replies to.
func sendDigest(to domain.UserID, text string, replyTo domain.MessageID) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(to))
	h.Write([]byte{0})
	h.Write([]byte(text))
	if replyTo != "" {
		h.Write([]byte{0})
		h.Write([]byte(replyTo))
	}
	var d [sha256.Size]byte
	copy(d[:], h.Sum(nil))
	return d
}
