package visitor

// Target profiles (visitor_api): how the sync speaks to Visitor.
const (
	// ProfileSCIM2 is the project's own SCIM 2.0 contract
	// (docs/visitor-scim.md): locations and roles in an extension.
	ProfileSCIM2 = "scim2"
	// ProfileGeneric is Eptura's documented Generic SCIM integration
	// (SCIM 1.1, users only).
	ProfileGeneric = "generic-v1"
	// DefaultProfile is what the demo and existing configurations speak.
	DefaultProfile = ProfileSCIM2
)

// Profiles lists the profiles, for validation and messages.
var Profiles = []string{ProfileSCIM2, ProfileGeneric}
