package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// The manager's access to the admin page: one password for the shop, and
// sessions for whoever logged in with it. There is no default password: the
// first visit chooses it with the one-time setup code, which only someone
// with access to the box can read, and `passerelle admin reset-password`
// replaces a forgotten one from the box's shell.

// Admin policy.
const (
	AdminPasswordMin = 12  // characters
	AdminPasswordMax = 128 // characters: Argon2 takes any length, a form need not
	// AdminSessionTTL is the longest a session lives, however busy.
	AdminSessionTTL = 12 * time.Hour
	// AdminSessionIdle ends a session nobody used for that long.
	AdminSessionIdle = 2 * time.Hour
	// LoginTriesAllowed attempts per address within LoginTriesWindow; a
	// successful login forgives that address's failures.
	LoginTriesAllowed = 5
	LoginTriesWindow  = 15 * time.Minute
	// LoginFailuresBeforeSlow attempts of all addresses together that did
	// not log in, within LoginSlowWindow, slow logins down for everyone:
	// the per-address limit alone lets a LAN of addresses guess hundreds
	// of times a minute. Then one attempt per LoginSlowPace is checked
	// among the addresses that failed within LoginTriesWindow, and one
	// among those that did not (the manager's, most likely): however many
	// addresses guess, the manager's turn comes within LoginSlowPace.
	LoginFailuresBeforeSlow = 20
	LoginSlowWindow         = 10 * time.Minute
	LoginSlowPace           = 5 * time.Second
	// MaxConcurrentHashes bounds the memory Argon2 may take at once (19 MiB
	// each): a flood of logins queues instead of exhausting a small box.
	MaxConcurrentHashes = 2
	// hashWait is how long a login waits for a hashing slot.
	hashWait = 10 * time.Second
	// touchEvery spares the store a write on every page: the idle clock of a
	// session moves by this step.
	touchEvery = time.Minute
)

// Argon2id with OWASP's first recommended set: m=19 MiB, t=2, p=1. The
// other (m=46 MiB, t=1) costs the same time but more than twice the memory,
// and the box may be a small ARM board. The parameters are stored with each
// hash, so raising them later keeps the old hashes readable.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Errors of the admin access.
var (
	// ErrNoAdminPassword: none is set yet; the setup page chooses it.
	ErrNoAdminPassword = errors.New("no admin password is set")
	// ErrAdminPasswordSet: setup was already done.
	ErrAdminPasswordSet = errors.New("the admin password is already set")
	// ErrNoSetupCode: this Admin was made without a place for the setup
	// code, so it cannot do a setup.
	ErrNoSetupCode = errors.New("gateway: admin setup without a setup code")
	// ErrTooManyLogins: this address failed too often; it waits.
	ErrTooManyLogins = errors.New("too many login attempts from this address: wait a few minutes")
	// ErrLoginsSlowed: too many failed logins from all addresses; every
	// address waits its turn.
	ErrLoginsSlowed = errors.New("too many failed logins on this gateway: every login waits its turn")
	// ErrSessionExpired: the session ended (lifetime or idle time).
	ErrSessionExpired = errors.New("session expired")
	// ErrBusy: every hashing slot stayed taken; try again.
	ErrBusy = errors.New("too many logins at once: try again")
)

// LoginWaitError is a login attempt refused before the password was
// checked: ErrTooManyLogins or ErrLoginsSlowed, and when to try again.
type LoginWaitError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *LoginWaitError) Error() string { return e.Err.Error() }
func (e *LoginWaitError) Unwrap() error { return e.Err }

// AdminSession is a logged-in browser. Only the hash of its token is kept.
type AdminSession struct {
	TokenHash []byte
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
	Addr      string // the address it logged in from, for the manager's eyes
}

// AdminStore is what admin access needs from persistence.
type AdminStore interface {
	// AdminPasswordHash returns the stored hash, or ErrNotFound.
	AdminPasswordHash(ctx context.Context) (string, error)
	// InitAdminPassword stores the first password; ErrAdminPasswordSet if
	// there is one already (two setups racing: one wins).
	InitAdminPassword(ctx context.Context, hash string, at time.Time) error
	// SetAdminPassword replaces the password and ends every session.
	SetAdminPassword(ctx context.Context, hash string, at time.Time) error
	InsertAdminSession(ctx context.Context, s AdminSession) error
	// AdminSession returns a session by its token's hash, or ErrNotFound.
	AdminSession(ctx context.Context, tokenHash []byte) (AdminSession, error)
	TouchAdminSession(ctx context.Context, tokenHash []byte, at time.Time) error
	DeleteAdminSession(ctx context.Context, tokenHash []byte) error
	// DeleteStaleAdminSessions removes the sessions that expired before
	// expiredBefore or were last seen before idleBefore.
	DeleteStaleAdminSessions(ctx context.Context, expiredBefore, idleBefore time.Time) error
}

// SetupCodes keeps the one-time setup code; *SetupCodeFile is one.
type SetupCodes interface {
	// Code returns the code, making one if there is none.
	Code() (string, error)
	// Remove deletes the code; no code is not an error.
	Remove() error
}

// Admin checks the manager's password and keeps the sessions.
type Admin struct {
	store  AdminStore
	codes  SetupCodes
	now    func() time.Time
	slots  chan struct{}
	tries  *loginTries
	params argonParams
}

// NewAdmin returns the admin access service. codes may be nil where no
// setup is done (the shell's commands): Setup then refuses.
func NewAdmin(store AdminStore, codes SetupCodes, now func() time.Time) *Admin {
	return &Admin{store: store, codes: codes, now: now, slots: make(chan struct{}, MaxConcurrentHashes),
		tries:  &loginTries{byAddr: map[string][]time.Time{}},
		params: argonParams{memory: argonMemory, time: argonTime, threads: argonThreads}}
}

// NeedsSetup reports whether no password is set yet.
func (a *Admin) NeedsSetup(ctx context.Context) (bool, error) {
	_, err := a.store.AdminPasswordHash(ctx)
	if errors.Is(err, ErrNotFound) {
		return true, nil
	}
	return false, err
}

// CheckAdminPassword returns what is wrong with a new password and its
// confirmation, as field errors "password" and "confirm".
func CheckAdminPassword(password, confirm string) error {
	var fe fieldErrors
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		fe.add("password", "must be valid UTF-8")
	case n < AdminPasswordMin:
		fe.add("password", "must be at least %d characters", AdminPasswordMin)
	case n > AdminPasswordMax:
		fe.add("password", "must be at most %d characters", AdminPasswordMax)
	case strings.TrimSpace(password) == "":
		fe.add("password", "must not be only spaces")
	}
	if len(fe) == 0 && password != confirm {
		fe.add("confirm", "the two passwords differ")
	}
	return fe.err()
}

// SetupCode returns the setup code while no password is set, making one
// if there is none. Once a password is set it removes a code left over
// and fails with ErrAdminPasswordSet.
func (a *Admin) SetupCode(ctx context.Context) (string, error) {
	if a.codes == nil {
		return "", ErrNoSetupCode
	}
	need, err := a.NeedsSetup(ctx)
	if err != nil {
		return "", err
	}
	if !need {
		if err := a.codes.Remove(); err != nil {
			return "", err
		}
		return "", ErrAdminPasswordSet
	}
	return a.codes.Code()
}

// Setup chooses the first password and opens a session for whoever chose
// it, if code is the setup code. Once a password is set, Setup fails with
// ErrAdminPasswordSet. A wrong code is a field error "code" and counts as
// a failed login from addr: the code cannot be guessed faster than a
// password.
func (a *Admin) Setup(ctx context.Context, addr, code, password, confirm string) (string, error) {
	want, err := a.SetupCode(ctx)
	if err != nil {
		return "", err
	}
	id, err := a.tries.take(addr, a.now())
	if err != nil {
		return "", err
	}
	var fe fieldErrors
	if subtle.ConstantTimeCompare([]byte(normalizeSetupCode(code)), []byte(want)) != 1 {
		fe.add("code", "is not the setup code")
	} else {
		a.tries.forgive(addr, id)
	}
	var pe *ValidationError
	if errors.As(CheckAdminPassword(password, confirm), &pe) {
		fe = append(fe, pe.Fields...)
	}
	if err := fe.err(); err != nil {
		return "", err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return "", err
	}
	if err := a.store.InitAdminPassword(ctx, hash, a.now().UTC()); err != nil {
		return "", err
	}
	// The code is spent. Should the file outlive this (a disk error), it
	// opens nothing: setup is over, and the next SetupCode removes it.
	a.codes.Remove()
	return a.newSession(ctx, addr)
}

// ResetPassword replaces the password and ends every session: the command
// for a forgotten password, run from the box's shell. Setup is then over:
// a setup code left is removed.
func (a *Admin) ResetPassword(ctx context.Context, password, confirm string) error {
	if err := CheckAdminPassword(password, confirm); err != nil {
		return err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return err
	}
	if err := a.store.SetAdminPassword(ctx, hash, a.now().UTC()); err != nil {
		return err
	}
	if a.codes != nil {
		return a.codes.Remove()
	}
	return nil
}

// Login checks the password and returns a new session's token. Each
// address has LoginTriesAllowed attempts per LoginTriesWindow, and past
// LoginFailuresBeforeSlow failures of all addresses every attempt waits
// its turn (a *LoginWaitError says how long). The attempt counts before
// the hash is checked, so parallel guesses cannot slip through the check
// together.
func (a *Admin) Login(ctx context.Context, addr, password string) (string, error) {
	id, err := a.tries.take(addr, a.now())
	if err != nil {
		return "", err
	}
	if err := a.verify(ctx, password); err != nil {
		return "", err
	}
	a.tries.forgive(addr, id)
	return a.newSession(ctx, addr)
}

// ChangePassword replaces the password from a logged-in session that knows
// the current one. Every session ends, and the caller gets a new one.
func (a *Admin) ChangePassword(ctx context.Context, addr, current, password, confirm string) (string, error) {
	id, err := a.tries.take(addr, a.now())
	if err != nil {
		return "", err
	}
	if err := a.verify(ctx, current); errors.Is(err, ErrUnauthorized) {
		return "", &ValidationError{Fields: []FieldError{{Field: "current", Message: "is not the current password"}}}
	} else if err != nil {
		return "", err
	}
	a.tries.forgive(addr, id)
	if err := a.ResetPassword(ctx, password, confirm); err != nil {
		return "", err
	}
	return a.newSession(ctx, addr)
}

func (a *Admin) verify(ctx context.Context, password string) error {
	stored, err := a.store.AdminPasswordHash(ctx)
	if errors.Is(err, ErrNotFound) {
		return ErrNoAdminPassword
	}
	if err != nil {
		return err
	}
	p, salt, want, err := parseArgonHash(stored)
	if err != nil {
		return err
	}
	if err := a.acquire(ctx); err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(want)))
	a.release()
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrUnauthorized
	}
	return nil
}

func (a *Admin) newSession(ctx context.Context, addr string) (string, error) {
	now := a.now().UTC()
	// Stale sessions go at each login: no background sweeper to run.
	if err := a.store.DeleteStaleAdminSessions(ctx, now, now.Add(-AdminSessionIdle)); err != nil {
		return "", err
	}
	token := NewSecret("pas", 32)
	s := AdminSession{TokenHash: HashKey(token), CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(AdminSessionTTL), Addr: addr}
	if err := a.store.InsertAdminSession(ctx, s); err != nil {
		return "", err
	}
	return token, nil
}

// Authenticate returns the live session of token. An expired one is
// deleted and reported as ErrSessionExpired; an unknown one as
// ErrUnauthorized.
func (a *Admin) Authenticate(ctx context.Context, token string) (AdminSession, error) {
	if token == "" {
		return AdminSession{}, ErrUnauthorized
	}
	h := HashKey(token)
	s, err := a.store.AdminSession(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return AdminSession{}, ErrUnauthorized
	}
	if err != nil {
		return AdminSession{}, err
	}
	now := a.now().UTC()
	// A session stamped after now means the clock stepped back since: its
	// lifetime can no longer be counted, and counted from the stamps it
	// would last as much longer as the step. It ends; the manager logs in
	// again (docs/operations.md).
	stepped := s.CreatedAt.After(now.Add(ClockStepAllowed)) || s.LastSeen.After(now.Add(ClockStepAllowed))
	if stepped || !now.Before(s.ExpiresAt) || now.Sub(s.LastSeen) >= AdminSessionIdle {
		if err := a.store.DeleteAdminSession(ctx, h); err != nil {
			return AdminSession{}, err
		}
		return AdminSession{}, ErrSessionExpired
	}
	if now.Sub(s.LastSeen) >= touchEvery {
		if err := a.store.TouchAdminSession(ctx, h, now); err != nil {
			return AdminSession{}, err
		}
		s.LastSeen = now
	}
	return s, nil
}

// Logout ends the session of token. An unknown token is not an error: the
// browser is logged out either way.
func (a *Admin) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return a.store.DeleteAdminSession(ctx, HashKey(token))
}

func (a *Admin) acquire(ctx context.Context) error {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Admin) release() { <-a.slots }

// hash returns the PHC string of password with a fresh salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, base64 without padding.
func (a *Admin) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	if err := a.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, a.params.time, a.params.memory, a.params.threads, argonKeyLen)
	a.release()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		a.params.memory, a.params.time, a.params.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

// parseArgonHash reads a PHC string. Parameters beyond sane bounds are
// refused rather than run: a tampered database must not make a login take
// gigabytes.
func parseArgonHash(s string) (argonParams, []byte, []byte, error) {
	bad := func(why string) (argonParams, []byte, []byte, error) {
		return argonParams{}, nil, nil, fmt.Errorf("gateway: stored admin password hash: %s", why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return bad("unsupported version")
	}
	var p argonParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return bad("bad parameters")
	}
	if p.memory < 8*uint32(p.threads) || p.memory > 256*1024 || p.time < 1 || p.time > 10 || p.threads < 1 || p.threads > 16 {
		return bad("parameters out of bounds")
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return bad("bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return bad("bad key")
	}
	return p, salt, key, nil
}

// loginTries counts login attempts per address, and those of all
// addresses that did not log in, in memory: a restart forgives, which is
// fine for a wait of minutes.
type loginTries struct {
	mu     sync.Mutex
	byAddr map[string][]time.Time
	// unproven are the attempts of all addresses within LoginSlowWindow
	// that have not logged in: failures, and attempts under way.
	unproven []loginAttempt
	lastID   uint64
	// turn is when the next attempt of each lane may be checked while
	// logins are slowed: 0 for addresses with no attempt left in their
	// window, 1 for the others.
	turn [2]time.Time
}

type loginAttempt struct {
	id uint64
	at time.Time
}

// take counts an attempt from addr at now, unless addr has used up its
// attempts (ErrTooManyLogins) or it is not its lane's turn while logins
// are slowed (ErrLoginsSlowed), both as a *LoginWaitError. A refused
// attempt is not counted: no password is checked. The id is for forgive.
func (l *loginTries) take(addr string, now time.Time) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keep []time.Time
	for _, at := range l.byAddr[addr] {
		if now.Sub(at) < LoginTriesWindow {
			keep = append(keep, at)
		}
	}
	l.byAddr[addr] = keep
	if len(keep) >= LoginTriesAllowed {
		return 0, &LoginWaitError{Err: ErrTooManyLogins, RetryAfter: keep[0].Add(LoginTriesWindow).Sub(now)}
	}
	l.unproven = slices.DeleteFunc(l.unproven, func(a loginAttempt) bool { return now.Sub(a.at) >= LoginSlowWindow })
	if len(l.unproven) >= LoginFailuresBeforeSlow {
		lane := 0
		if len(keep) > 0 {
			lane = 1
		}
		if now.Before(l.turn[lane]) {
			return 0, &LoginWaitError{Err: ErrLoginsSlowed, RetryAfter: l.turn[lane].Sub(now)}
		}
		l.turn[lane] = now.Add(LoginSlowPace)
	}
	l.byAddr[addr] = append(keep, now)
	l.lastID++
	l.unproven = append(l.unproven, loginAttempt{id: l.lastID, at: now})
	// Forget addresses that went quiet, so the map does not grow forever.
	if len(l.byAddr) > 10_000 {
		for a, ts := range l.byAddr {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= LoginTriesWindow {
				delete(l.byAddr, a)
			}
		}
	}
	return l.lastID, nil
}

// forgive clears addr's attempts after a success, and takes the
// successful attempt id out of the failures of all addresses.
func (l *loginTries) forgive(addr string, id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byAddr, addr)
	l.unproven = slices.DeleteFunc(l.unproven, func(a loginAttempt) bool { return a.id == id })
}
