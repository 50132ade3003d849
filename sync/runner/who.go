package runner

import (
	"cmp"
	"slices"
	"strings"

	"condeco-visitor-sync/condeco"
)

// Person is what one WHO of --explain or --only names in the Condeco
// export: an exported row, a held row, or neither.
type Person struct {
	Who string `json:"who"`
	// Row is the exported Condeco row; nil when none matches.
	Row *condeco.User `json:"row,omitempty"`
	// ExternalID is the externalId the sync gives (or gave) the person:
	// from the row, the held row's id, or WHO itself when it is one.
	ExternalID string `json:"externalId,omitempty"`
	// UserName is the userName the person has or is looked up by.
	UserName string `json:"userName,omitempty"`
	// Held names each rule a held row of this person broke; HeldByName
	// says the row was matched by its userName only (its id unusable).
	Held       []string `json:"held,omitempty"`
	HeldByName bool     `json:"heldByName,omitempty"`
}

// findPerson matches who (an email, a userName, a Condeco id or an
// externalId) in exp. Emails and userNames compare without case, as
// Visitor's userName does.
func findPerson(exp *condeco.Export, prefix, who string) Person {
	p := Person{Who: who}
	id := strings.TrimPrefix(who, prefix)
	// By email, a deactivated row gives way to an active one: a rehire
	// shares the old row's email, and the person asked about is the new.
	var found, inactive *condeco.User
	for i := range exp.Users {
		u := &exp.Users[i]
		byName := strings.EqualFold(u.UserName, who) || strings.EqualFold(u.Email, who)
		if u.ID == who || u.ID == id || (byName && !u.Inactive) {
			found = u
			break
		}
		if byName && inactive == nil {
			inactive = u
		}
	}
	if u := cmp.Or(found, inactive); u != nil {
		p.Row, p.ExternalID, p.UserName = u, prefix+u.ID, u.UserName
		return p
	}
	heldRow := func(held string) {
		p.ExternalID = prefix + held
		for _, pr := range exp.Problems {
			if pr.Table == "users" && pr.RowID == held {
				p.Held = append(p.Held, pr.Error())
			}
		}
		if len(p.Held) == 0 {
			p.Held = []string{"users row " + held + ": invalid or colliding in Condeco"}
		}
	}
	switch {
	case slices.Contains(exp.Held, id):
		heldRow(id)
	case slices.Contains(exp.Held, who):
		heldRow(who)
	}
	if strings.Contains(who, "@") || !strings.HasPrefix(who, prefix) && !isDigits(who) {
		p.UserName = strings.ToLower(who)
		if rows := exp.HeldNameRows[p.UserName]; p.Held == nil && len(rows) > 0 {
			heldRow(rows[0])
		} else if p.Held == nil && slices.Contains(exp.HeldUserNames, p.UserName) {
			p.Held, p.HeldByName = []string{"a held Condeco row without a usable id claims the userName " + p.UserName}, true
		}
	}
	if p.ExternalID == "" && strings.HasPrefix(who, prefix) {
		p.ExternalID = who
	}
	if p.ExternalID == "" && isDigits(who) {
		p.ExternalID = prefix + who // a Condeco id no longer exported: a leaver
	}
	return p
}

func isDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}
