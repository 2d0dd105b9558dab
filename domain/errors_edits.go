package domain

// Error codes of edits and deletes (issue 12). docs/api.md lists each with
// its HTTP status.
const (
	// CodeMessageDeleted: the message was deleted for everyone; it can be
	// neither edited nor deleted again (409).
	CodeMessageDeleted Code = "message_deleted"
	// CodeEditWindowClosed: the message is older than the edit window
	// (409).
	CodeEditWindowClosed Code = "edit_window_closed"
	// CodeDeleteWindowClosed: the message is older than the window of
	// delete for everyone (409); delete for me still works.
	CodeDeleteWindowClosed Code = "delete_window_closed"
	// CodeInvalidReplyTo: a send's reply_to names no message of the
	// conversation that the sender sees (unknown, another conversation's,
	// deleted for everyone, or deleted by the sender for themself) (400).
	CodeInvalidReplyTo Code = "invalid_reply_to"
)
