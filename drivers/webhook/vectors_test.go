package webhook_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/webhook"
)

// vector is one test vector block of docs/till-api.md: its "key: value"
// lines.
type vector map[string]string

// docVectors reads the test vectors between the markers of
// docs/till-api.md: each fenced block there is one vector.
func docVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("../../docs/till-api.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	var cur vector
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "<!-- webhook test vectors: begin"):
			in = true
		case strings.HasPrefix(l, "<!-- webhook test vectors: end"):
			return out
		case !in:
		case l == "```text":
			cur = vector{}
		case l == "```" && cur != nil:
			out = append(out, cur)
			cur = nil
		case cur != nil:
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				t.Fatalf("vector line %q is not key: value", l)
			}
			// The value starts after the spaces that align it: a body
			// never starts with a space.
			cur[k] = strings.TrimLeft(v, " ")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatal("docs/till-api.md: no end marker for the webhook test vectors")
	return nil
}

func unixField(t *testing.T, v vector, k string) time.Time {
	t.Helper()
	n, err := strconv.ParseInt(v[k], 10, 64)
	if err != nil {
		t.Fatalf("vector %v: %s: %v", v, k, err)
	}
	return time.Unix(n, 0)
}

// TestDocVectors checks the signatures docs/till-api.md gives till
// developers against the gateway's signer, and its verification cases
// against webhook.Verify: the page cannot say what the gateway does not do.
func TestDocVectors(t *testing.T) {
	var signs, verifies int
	for _, v := range docVectors(t) {
		switch {
		case v["signature"] != "":
			signs++
			at := unixField(t, v, "t")
			if got := webhook.Sign(v["secret"], at, []byte(v["body"])); got != v["signature"] {
				t.Errorf("the gateway signs body %.60q… with %s, the docs say %s", v["body"], got, v["signature"])
			}
			if err := webhook.Verify(v["signature"], []byte(v["body"]), v["secret"], at, webhook.DefaultTolerance); err != nil {
				t.Errorf("Verify refuses the docs' signature %s: %v", v["signature"], err)
			}
		case v["valid"] != "":
			verifies++
			err := webhook.Verify(v["header"], []byte(v["body"]), v["secret"], unixField(t, v, "now"), webhook.DefaultTolerance)
			if want := v["valid"] == "true"; (err == nil) != want {
				t.Errorf("%s: Verify says %v, the docs say valid: %v", v["why"], err, want)
			}
		default:
			t.Errorf("vector %v has neither signature nor valid", v)
		}
	}
	// A vector block that no longer parses must not pass unseen.
	if signs < 2 || verifies < 5 {
		t.Errorf("read %d signing and %d verifying vectors from the docs, want at least 2 and 5", signs, verifies)
	}
}

// TestVerifyRefuses covers what the vectors do not: a header without its
// parts, a t given twice, a signature from the future.
func TestVerifyRefuses(t *testing.T) {
	now := time.Unix(1795635902, 0)
	body := []byte(`{"type":"ticket.paid"}`)
	const secret = "whsec_TEST"
	good := webhook.Sign(secret, now, body)
	v1 := good[strings.Index(good, "v1="):]
	for _, c := range []struct {
		header string
		want   error
	}{
		{"", webhook.ErrBadSignatureHeader},
		{"t=1795635902", webhook.ErrBadSignatureHeader},
		{v1, webhook.ErrBadSignatureHeader},
		{"t=x," + v1, webhook.ErrBadSignatureHeader},
		{"t=1795635902,t=1795635902," + v1, webhook.ErrBadSignatureHeader},
		{"t=1795636203," + v1, webhook.ErrStaleSignature}, // 5 min 1 s ahead
		{"t=1795635902,v1=zz", webhook.ErrSignatureMismatch},
		{"t=1795635902, " + v1, nil}, // spaces after the commas are taken
		{good, nil},
	} {
		if err := webhook.Verify(c.header, body, secret, now, webhook.DefaultTolerance); err != c.want {
			t.Errorf("Verify(%q) = %v, want %v", c.header, err, c.want)
		}
	}
}
