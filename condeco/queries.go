package condeco

import "database/sql"

// DefaultUsersQuery reads the assumed default schema (docs/condeco-schema.md).
// The real Condeco table names are not public; operators with a different
// schema replace this text in configuration (condeco_users_query) and keep
// the column aliases. Deleted and visitor rows are filtered here, so they
// read as "gone" for the sync; deactivated rows are read with their state
// (the optional active column), so that a deactivation in Condeco
// deactivates the same Visitor account, and a reactivation brings it back
// with the access granted by hand, rather than deleting and re-creating it.
const DefaultUsersQuery = `SELECT
    u.UserID            AS id,
    u.UserName          AS username,
    u.Email             AS email,
    u.FirstName         AS first_name,
    u.LastName          AS last_name,
    u.Telephone         AS phone,
    u.Mobile            AS mobile,
    u.LanguageCode      AS language,
    u.AccessLevel       AS access_level,
    u.UserType          AS user_type,
    u.DefaultLocationID AS location_id,
    u.ADUserGuid        AS sso_id,
    u.JobTitle          AS title,
    u.Active            AS active
FROM tblUsers u
WHERE u.Deleted = 0
  AND u.UserType <> @visitor_type
ORDER BY u.UserID`

// DefaultLocationsQuery reads every location with its country and region
// names, and whether it is open (active): a closed location must be read
// as closed, not left out, or the Visitor location made for it would go
// on being given to every new user.
const DefaultLocationsQuery = `SELECT
    l.LocationID   AS id,
    l.LocationName AS name,
    c.CountryName  AS country,
    r.RegionName   AS region,
    l.City         AS city,
    l.Active       AS active
FROM tblLocations l
LEFT JOIN tblCountries c ON c.CountryID = l.CountryID
LEFT JOIN tblRegions r ON r.RegionID = l.RegionID
ORDER BY l.LocationID`

// UserColumns and LocationColumns are the aliases every users and
// locations query must return. ActiveColumn is the optional one of both:
// a query without it reads every row as active (open), as before it
// existed, so a replacement query that filters inactive rows itself keeps
// working (RawUser.Active, RawLocation.Active).
const ActiveColumn = "active"

// TitleColumn (users) and CityColumn (locations) are optional too: only
// the generic-v1 profile carries them (title, and the city of a user's
// home location as addresses[primary].locality, which Visitor's mapping
// rules can place people by). A query without them sends neither.
const (
	TitleColumn = "title"
	CityColumn  = "city"
)

var (
	UserColumns = []string{"id", "username", "email", "first_name", "last_name", "phone",
		"mobile", "language", "access_level", "user_type", "location_id", "sso_id"}
	LocationColumns = []string{"id", "name", "country", "region"}
)

// queryArgs are the named parameters every query is given. A replacement
// query may use them or not; both engines ignore unused named arguments.
func queryArgs() []any {
	return []any{
		sql.Named("active", 1),
		sql.Named("visitor_type", int(TypeVisitor)),
	}
}
