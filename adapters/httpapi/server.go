package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// Config tunes the API.
type Config struct {
	// OpenRegistration lets anyone create an account with POST /users.
	OpenRegistration bool
	// ConsistencyWait bounds how long a request carrying
	// X-Tidings-Position waits for the views to catch up.
	ConsistencyWait time.Duration
	// MetricsToken, when set, is the bearer token GET /metrics requires;
	// when empty, /metrics answers only peers on the loopback interface.
	MetricsToken string
	// Partitions is the event log's partition count: a position naming a
	// partition at or past it is refused with invalid_position instead of
	// waited for. Zero: not known, not checked.
	Partitions int32
	// TrustedProxies are the proxies (load balancers) whose
	// X-Forwarded-For names the client, for the per-address limits of
	// sign-up and sign-in (clientAddr). Empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
}

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	if c.ConsistencyWait == 0 {
		c.ConsistencyWait = 2 * time.Second
	}
}

// Readiness reports whether the node can serve: nil when broker, views and
// accounts are usable.
type Readiness func(ctx context.Context) error

// NotReady is the error a Readiness returns to name the components that
// are not ready. /readyz tells clients those names only; the causes (which
// may hold hosts, users, addresses) go to the log.
type NotReady struct {
	Components []string
	Err        error // the causes, for the log
}

func (e *NotReady) Error() string { return e.Err.Error() }
func (e *NotReady) Unwrap() error { return e.Err }

// Server is the REST API. Its ServeHTTP is safe for concurrent use.
type Server struct {
	cfg     Config
	cmd     commands.Commands
	views   projections.Reader
	users   Directory
	tracker *projections.Tracker
	ready   Readiness
	metrics *Metrics
	log     *slog.Logger
	router  chi.Router
	limits  Limits
	// signedOut is told of every token signed out (nil: nobody).
	signedOut func(commands.TokenHash)
	// accountDeleted is told of every account deleted (nil: nobody).
	accountDeleted func(domain.UserID)
	// Presence and settings (presence.go); nil: their routes answer 404.
	pres            *commands.PresenceQuery
	settingsChanged func(context.Context, domain.UserID, commands.Settings)
	// versions answers GET /messages/{id}/versions (nil: 404).
	versions projections.VersionReader
}

// Directory finds users (the accounts store).
type Directory interface {
	User(ctx context.Context, id domain.UserID) (domain.User, error)
	UserByName(ctx context.Context, name string) (domain.User, error)
}

// Deps are what the API serves from.
type Deps struct {
	Commands commands.Commands
	Views    projections.Reader
	Users    Directory // nil: GET /users answers 404
	Tracker  *projections.Tracker
	Ready    Readiness
	Metrics  *Metrics // nil: no metrics
	Logger   *slog.Logger
	// Extra mounts the WebSocket routes (GET /ws). They authenticate as
	// REST routes do and also, on a WebSocket handshake, by a
	// "bearer.<token>" subprotocol, which no REST route takes.
	Extra func(r chi.Router)
	// UI serves the web client at "/" and "/static/*" (nil: not served).
	UI http.Handler
	// Limits are the per-client-address limits of the sign-in endpoints.
	Limits Limits
	// SignedOut, when set, is called with the hash of each token signed
	// out, after the revocation is stored (to close its WebSockets).
	SignedOut func(commands.TokenHash)
	// AccountDeleted, when set, is called with each user whose account
	// was deleted, after the deletion (to close its WebSockets).
	AccountDeleted func(domain.UserID)
	// Presence serves GET /users/{id}/presence and the settings routes
	// (nil: they answer 404).
	Presence *commands.PresenceQuery
	// SettingsChanged, when set, is told of each settings change after it
	// is stored (to tell the WebSockets of every node).
	SettingsChanged func(ctx context.Context, user domain.UserID, s commands.Settings)
}

// Limits rate-limit requests by client address (Config.TrustedProxies).
// A nil limiter does not limit.
type Limits struct {
	SignUp commands.Limiter // POST /users
	SignIn commands.Limiter // POST /sessions (password guessing, token rotation)
}

// New builds the API.
func New(cfg Config, d Deps) *Server {
	cfg.SetDefaults()
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	// Reads show the marks this process's commands answered with even
	// before the views apply them: a status never goes back.
	s := &Server{cfg: cfg, cmd: d.Commands, views: projections.Quoted(projections.Marked(d.Views, d.Commands.Marks), versionsOf(d.Views)), users: d.Users, tracker: d.Tracker,
		ready: d.Ready, metrics: d.Metrics, log: d.Logger, limits: d.Limits, signedOut: d.SignedOut, accountDeleted: d.AccountDeleted,
		pres: d.Presence, settingsChanged: d.SettingsChanged, versions: versionsOf(d.Views)}
	r := chi.NewRouter()
	// No RealIP: forwarded-for headers are the client's to forge, and
	// nothing here trusts an address but the metrics guard below.
	r.Use(s.recoverer, s.instrument, s.limitHeaders)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, domain.Errorf(domain.CodeNotFound, "no such endpoint"))
	})
	r.MethodNotAllowed(s.methodNotAllowed)
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	if d.Metrics != nil {
		// GET only: Handle would serve every method, so that POST /metrics
		// answered 200 to an operator (and 403, not 405, to others).
		r.Method(http.MethodGet, "/metrics", s.metricsGuard(d.Metrics.Handler()))
	}
	r.Post("/users", s.register)
	r.Post("/sessions", s.createSession)
	if d.UI != nil {
		r.Handle("/", d.UI)
		r.Handle("/static/*", d.UI)
	}
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate(bearer), s.awaitPosition)
		r.Get("/me", s.me)
		r.Delete("/me", s.deleteMe)
		r.Delete("/sessions/current", s.deleteSession)
		r.Get("/users", s.userByName)
		r.Get("/users/{id}", s.userByID)
		r.Get("/users/{id}/presence", s.presence)
		r.Get("/me/settings", s.settings)
		r.Patch("/me/settings", s.patchSettings)
		r.Post("/messages", s.sendMessage)
		r.Get("/messages", s.unread)
		r.Get("/messages/{id}", s.getMessage)
		r.Patch("/messages/{id}", s.patchMessage) // mark read or edit (edits.go)
		r.Put("/messages/{id}", s.patchMessage)
		r.Delete("/messages/{id}", s.deleteMessage)
		r.Get("/messages/{id}/versions", s.messageVersions)
		r.Put("/messages/{id}/reaction", s.putReaction)
		r.Delete("/messages/{id}/reaction", s.deleteReaction)
		r.Get("/conversations", s.conversations)
		r.Get("/conversations/{peer}/messages", s.history)
		r.Post("/conversations/{peer}/read", s.readUpTo)
		r.Get("/me/unread", s.unreadTotal)
	})
	if d.Extra != nil {
		r.Group(func(r chi.Router) {
			r.Use(s.authenticate(handshakeBearer), s.awaitPosition)
			d.Extra(r)
		})
	}
	s.router = r
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Routes returns the API's routes, for walking them (chi.Walk): every one
// is in docs/openapi.yaml but the web client's (TestOpenAPIMatchesRouter).
func (s *Server) Routes() chi.Routes { return s.router }

// routeMethods are the methods a 405's Allow header may name, in its order.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions}

// methodNotAllowed answers 405 with an Allow header that lists the
// methods the path's route takes (RFC 9110 section 15.5.6).
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	path := r.URL.RawPath // what chi routes on, when set
	if path == "" {
		path = r.URL.Path
	}
	var allow []string
	for _, m := range routeMethods {
		if m != r.Method && s.router.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, r, domain.Errorf(domain.CodeMethodNotAllowed, "method %s is not allowed here; allowed: %s", r.Method, strings.Join(allow, ", ")))
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "route", routeOf(r), "panic", v)
				s.writeError(w, r, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func routeOf(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		return rc.RoutePattern()
	}
	return "unmatched"
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			what := "not ready"
			var nr *NotReady
			if errors.As(err, &nr) && len(nr.Components) > 0 {
				what = "not ready: " + strings.Join(nr.Components, ", ")
			}
			s.writeError(w, r, domain.Errorf(domain.CodeUnavailable, "%s", what))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// metricsGuard lets through a request with the metrics token, or with none
// configured, one from a loopback peer; others get 403 forbidden.
func (s *Server) metricsGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := false
		if s.cfg.MetricsToken != "" {
			ok = subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(s.cfg.MetricsToken)) == 1
		} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ip := net.ParseIP(host)
			ok = ip != nil && ip.IsLoopback()
		}
		if !ok {
			s.writeError(w, r, domain.Errorf(domain.CodeForbidden, "metrics are for operators"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
