package gateway

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// crockford is the ULID alphabet.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// NewID returns prefix + "_" + a ULID-like identifier: 48 bits of
// milliseconds then 80 random bits. An ID names, it does not order: the
// wall clock repeats a millisecond and can step back, so IDs of one
// millisecond sort at random and a later ID can sort first. Lists order by
// the store's seq instead.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return prefix + "_" + crockford.EncodeToString(b[:])
}

// NewSecret returns a random token of n bytes, base32, with a prefix that
// says what it is (so a leaked one is recognisable).
func NewSecret(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return prefix + "_" + crockford.EncodeToString(b)
}
