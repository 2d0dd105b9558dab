package datakeys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

var _ commands.Sealer = (*Keyring)(nil)

// KeySize is the length of a data key (AES-256).
const KeySize = 32

// Store keeps the data keys in the mutable catalog store, next to the
// accounts: deleting an account (commands.Accounts.DeleteUser) deletes
// every key its user authored in the same write, and no key of a user
// that does not exist can be made. Implementations are safe for
// concurrent use and pass adapters/contract's data-key suite.
type Store interface {
	// DataKey returns the key of author's messages to peer. When there is
	// none it stores fresh as that key and returns it; of concurrent
	// callers, on any process, the first to store wins and all get its
	// key. It returns domain.ErrNotFound when author is not an account.
	DataKey(ctx context.Context, author, peer domain.UserID, fresh []byte) ([]byte, error)
	// LookupKey returns the key of author's messages to peer, or
	// domain.ErrNotFound when there is none (never made, or erased with
	// its author's account).
	LookupKey(ctx context.Context, author, peer domain.UserID) ([]byte, error)
}

// Config tunes a Keyring.
type Config struct {
	// CacheFor is how long a key (or its absence) is kept in memory. It
	// bounds how long another process can still open text after the
	// account is deleted; the process that deletes it forgets at once.
	// Default 1 minute.
	CacheFor time.Duration
	// MaxCached bounds the keys kept in memory. Default 100,000.
	MaxCached int
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.CacheFor == 0 {
		c.CacheFor = time.Minute
	}
	if c.MaxCached == 0 {
		c.MaxCached = 100_000
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.CacheFor < 0 || c.CacheFor > time.Hour {
		return fmt.Errorf("datakeys: CacheFor %s is outside 0..1h", c.CacheFor)
	}
	if c.MaxCached < 1 {
		return fmt.Errorf("datakeys: MaxCached %d is below 1", c.MaxCached)
	}
	return nil
}

// Keyring seals and opens message text with the data keys of a Store,
// keeping recently used keys in memory (Config.CacheFor). Safe for
// concurrent use.
type Keyring struct {
	store Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	cache map[pair]entry
}

// pair names a key: its author's messages to peer.
type pair struct{ author, peer domain.UserID }

// entry is a cached key; aead nil caches its absence.
type entry struct {
	aead  cipher.AEAD
	until time.Time
}

// New returns a keyring over store.
func New(store Store, cfg Config, log *slog.Logger) (*Keyring, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Keyring{store: store, cfg: cfg, log: log, now: time.Now, cache: map[pair]entry{}}, nil
}

// sealedMark starts every sealed text: U+FFFF and the format version.
const sealedMark = string(domain.Noncharacter) + "1"

// Sealed reports whether text is sealed (of any format version).
func Sealed(text string) bool { return strings.HasPrefix(text, string(domain.Noncharacter)) }

// Seal implements commands.Sealer: it returns text sealed with author's
// key for peer (made on first use) and bound to message id.
func (k *Keyring) Seal(ctx context.Context, author, peer domain.UserID, id domain.MessageID, text string) (string, error) {
	aead, err := k.aead(ctx, pair{author, peer}, true)
	if err != nil {
		return "", err
	}
	if aead == nil {
		return "", fmt.Errorf("seal text of %s: %w", author, domain.ErrNotFound)
	}
	ns := aead.NonceSize()
	buf := make([]byte, ns, ns+len(text)+aead.Overhead())
	_, _ = rand.Read(buf) // never fails (crypto/rand, Go 1.24+)
	buf = aead.Seal(buf, buf[:ns], []byte(text), []byte(id))
	out := make([]byte, 0, len(sealedMark)+base64.RawStdEncoding.EncodedLen(len(buf)))
	out = append(out, sealedMark...)
	out = base64.RawStdEncoding.AppendEncode(out, buf)
	return string(out), nil
}

// Open returns m with its text opened. Text that is not sealed is
// returned as it is. When the key is gone (its author's account was
// deleted), or the sealed text does not open with it, m comes back with
// no text and Erased set. An error means the store could not be asked.
func (k *Keyring) Open(ctx context.Context, m domain.Message) (domain.Message, error) {
	if !Sealed(m.Text) {
		return m, nil
	}
	erased := m
	erased.Text, erased.Erased = "", true
	if !strings.HasPrefix(m.Text, sealedMark) {
		k.log.Warn("sealed text of an unknown format; shown as erased", "message", string(m.ID))
		return erased, nil
	}
	aead, err := k.aead(ctx, pair{m.From, m.To}, false)
	if err != nil {
		return domain.Message{}, err
	}
	if aead == nil {
		return erased, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(m.Text[len(sealedMark):])
	ns := aead.NonceSize()
	if err != nil || len(raw) < ns+aead.Overhead() {
		k.log.Warn("sealed text is damaged; shown as erased", "message", string(m.ID))
		return erased, nil
	}
	plain, err := aead.Open(raw[ns:ns], raw[:ns], raw[ns:], []byte(m.ID))
	if err != nil {
		k.log.Warn("sealed text does not open with its key; shown as erased", "message", string(m.ID))
		return erased, nil
	}
	m.Text = string(plain)
	return m, nil
}

// Forget implements commands.Sealer: it drops every key of author this
// process keeps (the account was just deleted).
func (k *Keyring) Forget(author domain.UserID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for p := range k.cache {
		if p.author == author {
			delete(k.cache, p)
		}
	}
}

// aead returns the cipher of p's key, from memory or the store; create asks
// the store to make the key when there is none. It returns nil when there
// is no key.
func (k *Keyring) aead(ctx context.Context, p pair, create bool) (cipher.AEAD, error) {
	now := k.now()
	k.mu.Lock()
	e, ok := k.cache[p]
	k.mu.Unlock()
	if ok && now.Before(e.until) && (e.aead != nil || !create) {
		return e.aead, nil
	}
	var (
		key []byte
		err error
	)
	if create {
		fresh := newKey()
		key, err = k.store.DataKey(ctx, p.author, p.peer, fresh)
	} else {
		key, err = k.store.LookupKey(ctx, p.author, p.peer)
	}
	switch {
	case errors.Is(err, domain.ErrNotFound):
		key = nil
	case err != nil:
		return nil, fmt.Errorf("data key of %s for %s: %w", p.author, p.peer, err)
	}
	var aead cipher.AEAD
	if key != nil {
		if aead, err = newAEAD(key); err != nil {
			return nil, fmt.Errorf("data key of %s for %s: %w", p.author, p.peer, err)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.cache) >= k.cfg.MaxCached {
		k.evict(now)
	}
	k.cache[p] = entry{aead: aead, until: now.Add(k.cfg.CacheFor)}
	return aead, nil
}

// evict drops expired keys and, if that is not enough, half of the rest.
// k.mu is held.
func (k *Keyring) evict(now time.Time) {
	for p, e := range k.cache {
		if !now.Before(e.until) {
			delete(k.cache, p)
		}
	}
	n := len(k.cache) / 2
	for p := range k.cache {
		if len(k.cache) <= n || len(k.cache) < k.cfg.MaxCached {
			break
		}
		delete(k.cache, p)
	}
}

func newKey() []byte {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	return key
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
