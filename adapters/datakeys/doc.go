// Package datakeys seals message text with a data key per author and
// conversation, and opens it again at the edge (crypto-shredding).
//
// A message's text is sealed (AES-256-GCM, a random nonce, the message id
// as additional data) before its MessageSent is appended, so the event
// log, every view, every replay and every backup of them hold only
// ciphertext. The key lives in the mutable catalog store (Store: the
// embedded store or PostgreSQL), next to the account: deleting the account
// deletes its keys in the same write, and every copy of its text, wherever
// it is, can no longer be read. Text is opened only where a client is
// answered (Reader, OpenPush).
//
// Sealed text is "\uffff1" followed by the standard base64 (no padding) of
// nonce ‖ ciphertext ‖ tag. U+FFFF is a noncharacter that no message text
// may contain (domain.ValidateText), so sealed text is never mistaken for
// plain text, and text stored before sealing existed reads as it was.
package datakeys
