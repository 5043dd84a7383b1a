package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a signature's time may be from the
// receiver's clock, either way, in the verification docs/till-api.md
// describes. The gateway signs each attempt when it sends it, so a retried
// event is never older than that.
const DefaultTolerance = 5 * time.Minute

// Reasons Verify refuses a request.
var (
	ErrBadSignatureHeader = errors.New("webhook: the Passerelle-Signature header has no t= or no v1=")
	ErrStaleSignature     = errors.New("webhook: the signature's time is too far from now")
	ErrSignatureMismatch  = errors.New("webhook: no v1= signature matches the secret and the body")
)

// Verify checks a Passerelle-Signature header as a till receiving webhooks
// does, and is the reference for docs/till-api.md: the header is
// comma-separated key=value pairs with one t= (unix seconds) and one or
// more v1= (several while a secret is being replaced: one per secret the
// gateway signs with); keys it does not know are skipped. The request is
// genuine if t is within tolerance of now and any v1= is the hex
// HMAC-SHA256, keyed with the secret's bytes as printed (whsec_ prefix
// included), of t, ".", and the body's bytes exactly as received.
func Verify(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if ts != "" {
				return ErrBadSignatureHeader
			}
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignatureHeader
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrStaleSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}
