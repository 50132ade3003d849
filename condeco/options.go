package condeco

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/microsoft/go-mssqldb/azuread"
	"github.com/microsoft/go-mssqldb/msdsn"
	"go.uber.org/zap"
)

// Options say how to reach the Condeco database and how to read it.
type Options struct {
	Driver string // "sqlserver" | "sqlite"
	// DSN is the full connection string. It is a secret: it is never
	// logged and never appears in an error.
	DSN string

	// Discrete SQL Server settings, used when DSN is empty.
	Host     string
	Port     int
	Database string
	User     string
	Password string
	// Auth is "sql" (default), "azuread-msi" or "azuread-sp".
	Auth         string
	ClientID     string
	TenantID     string
	ClientSecret string
	// Encrypt and TrustServerCertificate: the config layer defaults them to
	// true and false; either the other way round logs a warning.
	Encrypt                bool
	TrustServerCertificate bool

	ConnectTimeout time.Duration // default 30s
	QueryTimeout   time.Duration // default 5m; bounds one Export or Check

	UsersQuery     string // empty: DefaultUsersQuery
	LocationsQuery string // empty: DefaultLocationsQuery

	GlobalAdminLevels []int  // default []int{1}
	PhoneRegion       string // e.g. "GB"; empty accepts only +-prefixed numbers

	// sqlDriver overrides the database/sql driver name; tests use it to
	// put a fault-injecting driver under the same code.
	sqlDriver string
}

// Auth modes.
const (
	AuthSQL        = "sql"
	AuthAzureADMSI = "azuread-msi"
	AuthAzureADSP  = "azuread-sp"
)

const (
	defaultConnectTimeout = 30 * time.Second
	defaultQueryTimeout   = 5 * time.Minute
	appName               = "condeco-visitor-sync"
)

func (o Options) withDefaults() Options {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = defaultQueryTimeout
	}
	if strings.TrimSpace(o.UsersQuery) == "" {
		o.UsersQuery = DefaultUsersQuery
	}
	if strings.TrimSpace(o.LocationsQuery) == "" {
		o.LocationsQuery = DefaultLocationsQuery
	}
	if len(o.GlobalAdminLevels) == 0 {
		o.GlobalAdminLevels = []int{int(LevelGlobalAdmin)}
	}
	if o.Auth == "" {
		o.Auth = AuthSQL
	}
	if o.Port == 0 {
		o.Port = 1433
	}
	return o
}

// connString returns the database/sql driver name and connection string.
// Errors never quote the DSN or any credential.
func (o Options) connString(log *zap.Logger) (driverName, dsn string, err error) {
	switch o.Driver {
	case "sqlite":
		if o.DSN == "" {
			return "", "", fmt.Errorf("%w: sqlite needs a dsn (a file path)", ErrBadOptions)
		}
		return o.pick("sqlite"), o.DSN, nil
	case "sqlserver":
	default:
		return "", "", fmt.Errorf("%w: %q (want sqlserver or sqlite)", ErrUnsupportedDriver, o.Driver)
	}
	name := "sqlserver"
	switch o.Auth {
	case AuthSQL:
	case AuthAzureADMSI, AuthAzureADSP:
		name = azuread.DriverName
	default:
		return "", "", fmt.Errorf("%w: auth %q (want sql, azuread-msi or azuread-sp)", ErrBadOptions, o.Auth)
	}
	if o.DSN != "" {
		dsn, err := o.hardenDSN(log)
		return o.pick(name), dsn, err
	}
	dsn, err = o.buildDSN(log)
	return o.pick(name), dsn, err
}

func (o Options) pick(name string) string {
	if o.sqlDriver != "" {
		return o.sqlDriver
	}
	return name
}

// buildDSN assembles a sqlserver:// URL from the discrete settings.
func (o Options) buildDSN(log *zap.Logger) (string, error) {
	if o.Host == "" || o.Database == "" {
		return "", fmt.Errorf("%w: sqlserver needs host and database (or a dsn)", ErrBadOptions)
	}
	q := url.Values{}
	q.Set("database", o.Database)
	for k, v := range o.driverParams() {
		q.Set(k, v)
	}
	q.Set(msdsn.Encrypt, strconv.FormatBool(o.Encrypt))
	q.Set(msdsn.TrustServerCertificate, strconv.FormatBool(o.TrustServerCertificate))
	u := &url.URL{Scheme: "sqlserver", Host: net.JoinHostPort(o.Host, strconv.Itoa(o.Port))}
	switch o.Auth {
	case AuthSQL:
		if o.User == "" {
			return "", fmt.Errorf("%w: sql auth needs a user", ErrBadOptions)
		}
		u.User = url.UserPassword(o.User, o.Password)
	case AuthAzureADMSI:
		q.Set("fedauth", azuread.ActiveDirectoryManagedIdentity)
		if o.ClientID != "" { // user-assigned identity
			u.User = url.User(o.ClientID)
		}
	case AuthAzureADSP:
		if o.ClientID == "" || o.TenantID == "" || o.ClientSecret == "" {
			return "", fmt.Errorf("%w: azuread-sp needs client id, tenant id and client secret", ErrBadOptions)
		}
		q.Set("fedauth", azuread.ActiveDirectoryServicePrincipal)
		u.User = url.UserPassword(o.ClientID+"@"+o.TenantID, o.ClientSecret)
	}
	u.RawQuery = q.Encode()
	o.warnUnsafe(log, o.Encrypt, o.TrustServerCertificate)
	return u.String(), nil
}

// driverParams are the settings this program always wants from the
// driver. Read-only intent routes to a readable secondary where there is
// one and tells the server this client never writes. Only the dial is
// bounded here: go-mssqldb's "connection timeout" is a deadline on every
// read of the connection's whole life, so it would cut off a slow query
// at ConnectTimeout; the login is bounded by a context instead (Check,
// inReadTx) and queries by QueryTimeout.
func (o Options) driverParams() map[string]string {
	return map[string]string{
		msdsn.AppName:           appName,
		msdsn.ApplicationIntent: "ReadOnly",
		msdsn.DialTimeout:       strconv.Itoa(int((o.ConnectTimeout + time.Second - 1) / time.Second)),
	}
}

// hardenDSN completes an operator's DSN with what the discrete settings
// would have given: encryption on and the certificate verified unless the
// DSN says otherwise (go-mssqldb's own default is login-only encryption
// and no verification), read-only intent when it names a database (the
// driver refuses read-only intent without one), the dial timeout and the
// application name. Keys the DSN sets itself are kept as written.
func (o Options) hardenDSN(log *zap.Logger) (string, error) {
	// The parser's messages can quote the DSN; never pass them on.
	unparseable := fmt.Errorf("%w: the sqlserver dsn cannot be parsed", ErrBadOptions)
	cfg, err := msdsn.Parse(o.DSN)
	if err != nil {
		return "", unparseable
	}
	add := map[string]string{}
	for k, v := range o.driverParams() {
		if _, set := cfg.Parameters[strings.ToLower(k)]; !set {
			add[k] = v
		}
	}
	if _, set := cfg.Parameters[msdsn.Encrypt]; !set {
		add[msdsn.Encrypt] = "true"
	}
	if _, set := cfg.Parameters[msdsn.TrustServerCertificate]; !set {
		add[msdsn.TrustServerCertificate] = "false"
	}
	odbc := strings.HasPrefix(strings.ToLower(o.DSN), "odbc:")
	switch {
	case cfg.Database == "":
		delete(add, msdsn.ApplicationIntent)
		log.Warn("dsn names no database; not setting read-only application intent")
	case odbc && !cfg.ReadOnlyIntent:
		// The application lock strips the intent from URL and ADO forms
		// only (braces may hide ';' in ODBC values), so leave it to the
		// operator here.
		delete(add, msdsn.ApplicationIntent)
		log.Warn("odbc-style dsn: add ApplicationIntent=ReadOnly yourself")
	}
	dsn := o.DSN
	if strings.HasPrefix(strings.ToLower(dsn), "sqlserver://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", unparseable
		}
		q := u.Query()
		for k, v := range add {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		dsn = u.String()
	} else { // ADO ("server=…;") and ODBC ("odbc:server=…;") forms
		keys := make([]string, 0, len(add))
		for k := range add {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dsn = strings.TrimRight(dsn, "; ")
		for _, k := range keys {
			dsn += ";" + k + "=" + add[k]
		}
	}
	if cfg, err = msdsn.Parse(dsn); err != nil {
		return "", unparseable
	}
	o.warnUnsafe(log, cfg.Encryption == msdsn.EncryptionRequired || cfg.Encryption == msdsn.EncryptionStrict,
		cfg.TLSConfig != nil && cfg.TLSConfig.InsecureSkipVerify)
	return dsn, nil
}

func (o Options) warnUnsafe(log *zap.Logger, encrypt, trust bool) {
	if !encrypt {
		log.Warn("sql server connection is not encrypted", zap.Bool("encrypt", false))
	}
	if trust {
		log.Warn("sql server certificate is not verified", zap.Bool("trust_server_certificate", true))
	}
}
