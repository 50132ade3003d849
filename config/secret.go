package config

import "encoding/json"

// Secret holds a password or token. Every way of printing it masks it, so a
// config dump, a log field or an error message built with %v cannot leak it.
type Secret string

const masked = "******"

// String masks the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return masked
}

// GoString masks the value for %#v too.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON masks the value in JSON dumps.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML masks the value in YAML dumps.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Value is the only way to read the secret; grep for it to audit its uses.
func (s Secret) Value() string { return string(s) }
