package plan

import (
	"slices"
	"strings"

	"condeco-visitor-sync/condeco"
	"condeco-visitor-sync/visitor"
)

// MatchOwnership pairs Visitor users with Condeco users by email
// (userName, which generic-v1 requires to be the work email). An email
// two Condeco rows share is matched to neither: guessing would hand one
// person's account to the other. --rebuild-ownership writes what it
// owns as the ownership record of generic-v1; visitorOnly are never
// touched, condecoOnly created by the next run.
func MatchOwnership(cond []condeco.User, listed []visitor.User, prefix string) (owned []visitor.Owned, visitorOnly, condecoOnly, ambiguous []string) {
	byName := map[string]string{}
	dup := map[string]bool{}
	for _, u := range cond {
		n := strings.ToLower(u.UserName)
		if n == "" {
			continue
		}
		if _, ok := byName[n]; ok {
			dup[n] = true
		}
		byName[n] = u.ID
	}
	seen := map[string]bool{}
	for _, v := range listed {
		n := strings.ToLower(v.UserName)
		id, ok := byName[n]
		switch {
		case dup[n]:
			ambiguous = append(ambiguous, n)
		case ok:
			owned = append(owned, visitor.Owned{ID: v.ID, UserName: v.UserName, ExternalID: prefix + id})
			seen[n] = true
		default:
			visitorOnly = append(visitorOnly, v.UserName)
		}
	}
	for n := range byName {
		if !seen[n] && !dup[n] {
			condecoOnly = append(condecoOnly, n)
		}
	}
	slices.SortFunc(owned, func(a, b visitor.Owned) int { return strings.Compare(a.UserName, b.UserName) })
	slices.Sort(visitorOnly)
	slices.Sort(condecoOnly)
	slices.Sort(ambiguous)
	return owned, visitorOnly, condecoOnly, slices.Compact(ambiguous)
}
