package condeco

import "errors"

// Sentinel errors callers can test with errors.Is.
var (
	// ErrMissingColumn means a users or locations query does not return a
	// column the reader needs; the error text names the column.
	ErrMissingColumn = errors.New("query result is missing a required column")
	// ErrUnsupportedDriver means Options.Driver is neither "sqlserver" nor "sqlite".
	ErrUnsupportedDriver = errors.New("unsupported database driver")
	// ErrBadOptions means the connection settings are incomplete or contradictory.
	ErrBadOptions = errors.New("invalid condeco connection options")
	// ErrQueryTimeout means the export did not finish within
	// Options.QueryTimeout; the driver's own error ("Rows are closed")
	// would not say so.
	ErrQueryTimeout = errors.New("condeco query timed out")
	// ErrDuplicate marks rows that collide with another row on identity.
	ErrDuplicate = errors.New("duplicate identity")
)
