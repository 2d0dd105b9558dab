package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults applied by Config.SetDefaults.
const (
	DefaultMaxConns       int32 = 16
	DefaultConnectTimeout       = 5 * time.Second
)

// Config says how to reach PostgreSQL. Its String method never shows the
// password, so a Config may be logged with %v; its URL field must not be.
type Config struct {
	// URL is a libpq connection string, as a URL
	// (postgres://user:password@host:5432/database?sslmode=disable) or as
	// key=value pairs. Run-time parameters in it, such as search_path or
	// application_name, become session defaults on every connection.
	URL string
	// MaxConns caps the pool; it wins over pool_max_conns in the URL.
	MaxConns int32
	// ConnectTimeout bounds each connection attempt (dial, TLS and
	// authentication); it wins over connect_timeout in the URL.
	ConnectTimeout time.Duration
}

// SetDefaults fills the zero fields: MaxConns DefaultMaxConns,
// ConnectTimeout DefaultConnectTimeout.
func (c *Config) SetDefaults() {
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
}

// Validate reports every problem of c at once (errors.Join). Call it after
// SetDefaults. Its messages never quote the URL: it may hold a password.
func (c Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("postgres url is empty"))
	} else if _, err := pgxpool.ParseConfig(c.URL); err != nil {
		// pgx redacts passwords in parse errors only on a best-effort basis,
		// so its message is not repeated here.
		errs = append(errs, errors.New("postgres url does not parse as a connection string "+
			"(postgres://user:password@host:port/database?sslmode=...); it is not shown as it may hold a password"))
	}
	if c.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("postgres max conns is %d; it must be at least 1", c.MaxConns))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("postgres connect timeout is %s; it must be positive", c.ConnectTimeout))
	}
	return errors.Join(errs...)
}

// String describes c without its password: the user, hosts, database and
// pool settings.
func (c Config) String() string {
	return fmt.Sprintf("postgres %s max_conns=%d connect_timeout=%s", c.target(), c.MaxConns, c.ConnectTimeout)
}

// GoString keeps %#v from printing the URL.
func (c Config) GoString() string { return "postgres.Config{" + c.String() + "}" }

// target returns "user@host:port/database" from the URL, or a placeholder
// when it does not parse; never the password or other parameters.
func (c Config) target() string {
	pc, err := pgxpool.ParseConfig(c.URL)
	if c.URL == "" || err != nil {
		return "(invalid url)"
	}
	cc := pc.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
}

// poolConfig turns a validated Config into a pgxpool configuration.
func (c Config) poolConfig() (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(c.URL)
	if err != nil {
		return nil, errors.New("parse postgres url: invalid connection string")
	}
	pc.MaxConns = c.MaxConns
	pc.MinConns = min(pc.MinConns, pc.MaxConns)
	pc.MinIdleConns = min(pc.MinIdleConns, pc.MaxConns)
	pc.ConnConfig.ConnectTimeout = c.ConnectTimeout
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = "tidings"
	}
	return pc, nil
}
