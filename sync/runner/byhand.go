package runner

import (
	"go.uber.org/zap"

	"condeco-visitor-sync/sync/plan"
)

// logByHand says, once per run, what the target profile leaves to a
// person in Visitor; the details are in the report and the notification.
func logByHand(log *zap.Logger, h *plan.ByHand) {
	if h == nil {
		return
	}
	revoke := make([]string, 0, len(h.RevokeAdmin))
	for _, r := range h.RevokeAdmin {
		revoke = append(revoke, r.UserName)
	}
	newLocs := []string{}
	for _, l := range h.Locations {
		if l.New {
			newLocs = append(newLocs, l.Name)
		}
	}
	log.Info("by hand in visitor", zap.String("location", h.Location), zap.Int("admins", len(h.MakeAdmin)),
		zap.Strings("newAdmins", h.NewAdmins), zap.Strings("revokeAdmin", revoke),
		zap.Int("locations", len(h.Locations)), zap.Strings("newLocations", newLocs),
		zap.Int("mappingRules", len(h.MappingRules)), zap.Bool("changed", h.Changed))
}
