package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// scimError is an RFC 7644 §3.12 error answer.
type scimError struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *scimError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.ScimType, e.Detail)
}

func errf(status int, scimType, format string, args ...any) *scimError {
	return &scimError{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func invalidValue(format string, args ...any) *scimError {
	return errf(http.StatusBadRequest, "invalidValue", format, args...)
}

func writeError(w http.ResponseWriter, e *scimError) {
	body := map[string]any{
		"schemas": []string{errorSchema},
		"status":  strconv.Itoa(e.Status),
		"detail":  e.Detail,
	}
	if e.ScimType != "" {
		body["scimType"] = e.ScimType
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/scim+json", v)
}

func writeJSONType(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
