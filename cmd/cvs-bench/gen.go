package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/jmoiron/sqlx"

	"condeco-visitor-sync/condeco"
)

// The shares of a generated Condeco database. They are arithmetic on the
// user id (co-prime moduli), so a size always yields the same rows and the
// figures of two runs compare.
const (
	globalAdminEvery = 200 // 0.5 % Global admins
	otherAdminEvery  = 50  // 2 % country, location, group and video admins
	vendorEvery      = 20  // 5 % vendors
	visitorEvery     = 50  // 2 % visitors (never exported)
	inactiveEvery    = 20  // 5 % deactivated in Condeco (not exported)
	deletedEvery     = 50  // 2 % deleted in Condeco (not exported)
)

var (
	benchFirsts = []string{"Oliver", "Amelia", "George", "Isla", "Harry", "Zoë", "Siobhán", "Renée",
		"François", "Łukasz", "Niamh", "Björn", "Mohammed", "Fatima", "Taro", "Hanako", "Wei", "Priya"}
	benchLasts = []string{"Smith", "Jones", "O'Brien", "Brown", "Müller", "Núñez", "Ørsted", "Patel",
		"Evans", "Wright", "Khan", "Sato", "Suzuki", "Haddad", "Nasser", "Chen", "Garcia", "Kowalski", "Dubois"}
)

// exported says whether generated row i reaches Visitor: not a visitor, not
// deactivated (read, but given no account), not deleted.
func exported(i int) bool {
	return i%visitorEvery != 13 && i%inactiveEvery != 11 && i%deletedEvery != 29
}

// locationsFor is the one location per perLocation users, at
// most maxLocs (0: no cap).
func locationsFor(users, perLocation, maxLocs int) int {
	n := max(1, (users+perLocation-1)/perLocation)
	if maxLocs > 0 {
		n = min(n, maxLocs)
	}
	return n
}

// generate builds a Condeco database of n user rows and one location per
// perLocation users in the embedded SQLite file at path, through the same
// schema the demo and the tests use.
func generate(ctx context.Context, path, schema string, n, perLocation, maxLocs int) (locations int, err error) {
	db, err := sqlx.Open("sqlite", path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := condeco.ExecFile(ctx, db, schema); err != nil {
		return 0, fmt.Errorf("loading %s: %w", filepath.Base(schema), err)
	}
	for _, p := range []string{"PRAGMA journal_mode = WAL", "PRAGMA synchronous = OFF"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return 0, fmt.Errorf("%s: %w", p, err)
		}
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tblCountries (CountryID, CountryCode, CountryName) VALUES (1, 'GB', 'United Kingdom')`); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tblRegions (RegionID, CountryID, RegionName) VALUES (1, 1, 'London')`); err != nil {
		return 0, err
	}
	locations = locationsFor(n, perLocation, maxLocs)
	if err := insertLocations(ctx, tx, 1, locations); err != nil {
		return 0, err
	}
	if err := insertUsers(ctx, tx, 1, n, locations); err != nil {
		return 0, err
	}
	return locations, tx.Commit()
}

func insertLocations(ctx context.Context, tx *sqlx.Tx, from, to int) error {
	st, err := tx.PreparexContext(ctx, `INSERT INTO tblLocations (LocationID, RegionID, CountryID, LocationName, Active) VALUES (?, 1, 1, ?, 1)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for id := from; id <= to; id++ {
		if _, err := st.ExecContext(ctx, id, fmt.Sprintf("Office %d, Floor %d", id, 1+id%12)); err != nil {
			return fmt.Errorf("inserting location %d: %w", id, err)
		}
	}
	return nil
}

func insertUsers(ctx context.Context, tx *sqlx.Tx, from, to, locations int) error {
	st, err := tx.PreparexContext(ctx, `INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, Telephone, Mobile,
		LanguageCode, AccessLevel, UserType, DefaultLocationID, ADUserGuid, Active, Deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for i := from; i <= to; i++ {
		r := genUser(i, locations)
		if _, err := st.ExecContext(ctx, i, r.username, r.email, r.first, r.last, r.phone, r.mobile, "en-GB",
			r.access, r.utype, r.location, r.sso, r.active, r.deleted); err != nil {
			return fmt.Errorf("inserting user %d: %w", i, err)
		}
	}
	return nil
}

type genRow struct {
	username, email, first, last, sso        string
	phone, mobile                            any // string or nil (NULL)
	access, utype, location, active, deleted int
}

func genUser(i, locations int) genRow {
	first := benchFirsts[i%len(benchFirsts)]
	last := benchLasts[(i/len(benchFirsts))%len(benchLasts)]
	email := fmt.Sprintf("%s.%s.%d@example.com", asciiName(first), asciiName(last), i)
	r := genRow{email: email, username: email, first: first, last: last,
		utype: int(condeco.TypeEmployee), location: 1 + i%locations, active: 1,
		sso: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(i)*2654435761, i%65536, i%4096, (i*7)%4096, i)}
	// Every number is different, as direct lines and mobiles are: each
	// costs the reader a full parse and validation.
	if i%4 != 0 {
		r.phone = fmt.Sprintf("020 3%03d %04d", (i/10000)%1000, i%10000)
	}
	if i%3 != 0 {
		r.mobile = fmt.Sprintf("07400 %06d", i%1000000)
	}
	if i%6 == 0 { // a plain login: the email column is used
		r.username = `CORP\` + strings.ToLower(asciiName(first)[:1]+asciiName(last))
	}
	switch {
	case i%globalAdminEvery == 3:
		r.access = int(condeco.LevelGlobalAdmin)
	case i%otherAdminEvery == 41:
		r.access = 2 + (i/otherAdminEvery)%4
	}
	switch {
	case i%visitorEvery == 13:
		r.utype = int(condeco.TypeVisitor)
	case i%vendorEvery == 7:
		r.utype = int(condeco.TypeVendor)
	}
	if i%inactiveEvery == 11 {
		r.active = 0
	}
	if i%deletedEvery == 29 {
		r.deleted = 1
	}
	return r
}

var asciiFold = strings.NewReplacer("ë", "e", "á", "a", "é", "e", "ç", "c", "Ł", "L", "ø", "o", "Ø", "O",
	"ö", "o", "ü", "u", "ñ", "n", "ú", "u", "'", "")

func asciiName(s string) string { return strings.ToLower(asciiFold.Replace(s)) }

// dayChanges is what one day of Condeco activity did to the database.
type dayChanges struct {
	Updated, Departed, Joined, NewLocations int
}

func (d dayChanges) users() int { return d.Updated + d.Departed + d.Joined }

// applyDay changes share of the n generated users the way a working day
// does: half of the changes are edits (a new surname or phone), a quarter
// leavers, a quarter joiners; and one new location per hundred.
func applyDay(ctx context.Context, path string, n, locations int, share float64) (dayChanges, error) {
	k := int(float64(n)*share + 0.5)
	d := dayChanges{Updated: k / 2, Departed: k / 4}
	d.Joined = k - d.Updated - d.Departed
	d.NewLocations = locations / 100
	db, err := sqlx.Open("sqlite", path)
	if err != nil {
		return d, err
	}
	defer db.Close()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return d, err
	}
	defer tx.Rollback()
	// Spread the edited and departing users evenly over the id range.
	picked := pickExported(n, d.Updated+d.Departed)
	for j, id := range picked {
		q := `UPDATE tblUsers SET LastName = LastName || ' Day', Telephone = '020 3999 9999' WHERE UserID = ?`
		if j%2 == 1 && j/2 < d.Departed { // interleave leavers with edits
			q = `UPDATE tblUsers SET Deleted = 1 WHERE UserID = ?` // a deactivated row would be deactivated, not deleted
		}
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return d, fmt.Errorf("changing user %d: %w", id, err)
		}
	}
	if err := insertLocations(ctx, tx, locations+1, locations+d.NewLocations); err != nil {
		return d, err
	}
	// Joiners: new ids after the last, each one exported.
	id := n
	for added := 0; added < d.Joined; {
		id++
		if !exported(id) {
			continue
		}
		if err := insertUsers(ctx, tx, id, id, locations); err != nil {
			return d, err
		}
		added++
	}
	return d, tx.Commit()
}

// pickExported returns k exported ids spread evenly over 1..n.
func pickExported(n, k int) []int {
	if k <= 0 {
		return nil
	}
	step := max(1, n/k)
	out := make([]int, 0, k)
	last := 0
	for i := 1; len(out) < k && i <= n; i += step {
		j := max(i, last+1)
		for j <= n && !exported(j) {
			j++
		}
		if j <= n {
			out = append(out, j)
			last = j
		}
	}
	return out
}
