package tillapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/passerelle/passerelle/gateway"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string               `json:"type"`
	Title  string               `json:"title"`
	Status int                  `json:"status"`
	Detail string               `json:"detail,omitempty"`
	Errors []gateway.FieldError `json:"errors,omitempty"`
	// LastSeq is the event log's last seq, for a resume point past it.
	LastSeq *int64 `json:"last_seq,omitempty"`
	// CompactedThrough is the event log's compaction horizon, for a
	// resume point before it.
	CompactedThrough *int64 `json:"compacted_through,omitempty"`
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

func problem(status int, slug, title, detail string) *Problem {
	return &Problem{Type: "urn:passerelle:problem:" + slug, Title: title, Status: status, Detail: detail}
}

// writeError maps any error to its problem document: the one place where the
// core's errors become HTTP.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	var p *Problem
	var verr *gateway.ValidationError
	var cerr *gateway.ConflictError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &verr):
		p = problem(http.StatusUnprocessableEntity, "invalid", "Invalid ticket", "some fields are invalid")
		p.Errors = verr.Fields
	case errors.As(err, &cerr):
		p = problem(http.StatusConflict, "conflict", "Conflict", cerr.Reason)
	case errors.Is(err, gateway.ErrNotFound):
		p = problem(http.StatusNotFound, "not-found", "Not found", "no such ticket")
	case errors.Is(err, gateway.ErrUnauthorized):
		p = problem(http.StatusUnauthorized, "unauthorized", "Unauthorized", "a valid till key is required: Authorization: Bearer <key>")
	case errors.Is(err, gateway.ErrStorageFull):
		// 507 rather than 503: the till's retry will not succeed by itself,
		// someone must free space; Retry-After paces the till meanwhile.
		p = problem(http.StatusInsufficientStorage, "storage-full", "Storage full",
			"the gateway's disk is full: nothing was recorded; send the same request again once space is freed (the manager sees it on the admin page)")
		w.Header().Set("Retry-After", "60")
	default:
		log.Error("request failed", "err", err)
		p = problem(http.StatusInternalServerError, "internal", "Internal error", "the gateway could not complete the request; nothing was changed")
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="passerelle"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
