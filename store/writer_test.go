package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// holdWriter keeps the writer busy inside a caller's fn until the returned
// release is called, so that callers started meanwhile queue up and share
// the next commit.
func holdWriter(t *testing.T, s *store.Store) (release func()) {
	t.Helper()
	hold, held, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(gateway.Tx) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	return func() {
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("holding update: %v", err)
		}
	}
}

// committed returns the ticket IDs in the tickets table and the events'
// (seq, ticket ID), read by a connection of its own.
func committed(t *testing.T, path string) (tickets []string, seqs []int64, evTickets []string) {
	t.Helper()
	db := rawDB(t, path)
	rows, err := db.Query("SELECT id FROM tickets ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = db.Query("SELECT seq, ticket_id FROM events ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
		evTickets = append(evTickets, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return tickets, seqs, evTickets
}

func checkGapless(t *testing.T, what string, seqs []int64, n int) {
	t.Helper()
	if len(seqs) != n {
		t.Errorf("%s: %d events, want %d", what, len(seqs), n)
	}
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("%s: event %d has seq %d, want %d (seqs %v)", what, i, seq, i+1, seqs)
		}
	}
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	rec := &recorder{}
	path := dbPath(t)
	s := open(t, path, rec)
	till := addTill(t, s, "caisse")
	ctx := context.Background()
	errBoom := errors.New("boom")
	const callers = 64
	fails := func(i int) bool { return (i+1)%5 == 0 }

	release := holdWriter(t, s)
	var ready, wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		ready.Add(1)
		wg.Go(func() {
			tk := ticket(till, i)
			ready.Done()
			errs[i] = s.Update(ctx, func(tx gateway.Tx) error {
				if err := createTicket(tx, &tk); err != nil {
					return err
				}
				if fails(i) {
					return fmt.Errorf("caller %d: %w", i, errBoom)
				}
				return nil
			})
		})
	}
	ready.Wait()
	release()
	wg.Wait()

	var want []string
	for i, err := range errs {
		switch {
		case fails(i) && !errors.Is(err, errBoom):
			t.Errorf("failing caller %d: got %v, want its own error", i, err)
		case !fails(i) && err != nil:
			t.Errorf("caller %d: %v", i, err)
		case !fails(i):
			want = append(want, ticket(till, i).ID)
		}
	}
	tickets, seqs, evTickets := committed(t, path)
	if !slices.Equal(tickets, want) {
		t.Errorf("committed tickets:\n%v\nwant\n%v", tickets, want)
	}
	checkGapless(t, "store", seqs, len(want))
	slices.Sort(evTickets)
	if !slices.Equal(evTickets, want) {
		t.Errorf("events are about tickets\n%v\nwant\n%v", evTickets, want)
	}

	pub := rec.all()
	var pubSeqs []int64
	var pubTickets []string
	for _, e := range pub {
		pubSeqs = append(pubSeqs, e.Seq)
		pubTickets = append(pubTickets, e.TicketID)
	}
	checkGapless(t, "published", pubSeqs, len(want))
	slices.Sort(pubTickets)
	if !slices.Equal(pubTickets, want) {
		t.Errorf("published events are about tickets\n%v\nwant\n%v", pubTickets, want)
	}
	rec.mu.Lock()
	commits := rec.calls
	rec.mu.Unlock()
	if commits >= len(want) {
		t.Errorf("%d callers took %d commits: nothing was grouped", callers, commits)
	}
	t.Logf("%d callers committed in %d commits", callers, commits)
}

func TestUpdateReturnsAfterCommit(t *testing.T) {
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	for i := range 5 {
		tk := ticket(till, i)
		if err := s.Update(context.Background(), func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
			t.Fatal(err)
		}
		// A connection of another pool sees only what is committed.
		db := rawDB(t, path)
		var n int
		if err := db.QueryRow("SELECT count(*) FROM tickets WHERE id = ?", tk.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if n != 1 {
			t.Fatalf("ticket %d is not committed when Update returns", i)
		}
	}
}

func TestUpdateAfterClose(t *testing.T) {
	s, err := store.Open(context.Background(), dbPath(t), discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ran := false
	err = s.Update(context.Background(), func(gateway.Tx) error { ran = true; return nil })
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close: got %v, want ErrClosed", err)
	}
	if ran {
		t.Error("fn ran after Close")
	}
}

// Callers racing Close are either committed and told so, or told ErrClosed
// and left out.
func TestCloseUnderLoad(t *testing.T) {
	path := dbPath(t)
	s, err := store.Open(context.Background(), path, discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	till := addTill(t, s, "caisse")
	const callers, each = 8, 20
	var wg sync.WaitGroup
	var started atomic.Int64
	errs := make([]error, callers*each)
	for c := range callers {
		wg.Go(func() {
			for j := range each {
				n := c*each + j
				tk := ticket(till, n)
				started.Add(1)
				errs[n] = s.Update(context.Background(), func(tx gateway.Tx) error { return createTicket(tx, &tk) })
			}
		})
	}
	for started.Load() < callers*each/4 {
		runtime.Gosched() // let some commits through before closing
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	var want []string
	closed := 0
	for n, err := range errs {
		switch {
		case err == nil:
			want = append(want, ticket(till, n).ID)
		case errors.Is(err, store.ErrClosed):
			closed++
		default:
			t.Errorf("caller %d: %v", n, err)
		}
	}
	tickets, seqs, _ := committed(t, path)
	if !slices.Equal(tickets, want) {
		t.Errorf("committed tickets:\n%v\nwant those told so:\n%v", tickets, want)
	}
	checkGapless(t, "store", seqs, len(want))
	if closed == 0 {
		t.Error("no caller was told ErrClosed")
	}
	t.Logf("%d committed, %d refused", len(want), closed)
}

func TestCancelledCaller(t *testing.T) {
	path := dbPath(t)
	rec := &recorder{}
	s := open(t, path, rec)
	till := addTill(t, s, "caisse")

	t.Run("alone", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ran := false
		err := s.Update(ctx, func(gateway.Tx) error { ran = true; return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if ran {
			t.Error("fn of a cancelled caller ran")
		}
	})

	t.Run("among others", func(t *testing.T) {
		const callers = 32
		dead, cancel := context.WithCancel(context.Background())
		cancel()
		release := holdWriter(t, s)
		var ready, wg sync.WaitGroup
		errs := make([]error, callers)
		var ranDead atomic.Int64
		for i := range callers {
			ready.Add(1)
			wg.Go(func() {
				tk := ticket(till, i)
				ctx := context.Background()
				if i%2 == 1 {
					ctx = dead
				}
				ready.Done()
				errs[i] = s.Update(ctx, func(tx gateway.Tx) error {
					if i%2 == 1 {
						ranDead.Add(1)
					}
					return createTicket(tx, &tk)
				})
			})
		}
		ready.Wait()
		release()
		wg.Wait()
		var want []string
		for i, err := range errs {
			if i%2 == 1 {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("cancelled caller %d: got %v, want context.Canceled", i, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			want = append(want, ticket(till, i).ID)
		}
		if n := ranDead.Load(); n > 0 {
			t.Errorf("%d fns of cancelled callers ran", n)
		}
		tickets, seqs, _ := committed(t, path)
		if !slices.Equal(tickets, want) {
			t.Errorf("committed tickets:\n%v\nwant\n%v", tickets, want)
		}
		checkGapless(t, "store", seqs, len(want))
		checkGapless(t, "published", seqsOf(rec.all()), len(want))
	})

	// The SQL runs under the writer's context: a caller cancelled midway
	// neither breaks its own statements nor the batch.
	t.Run("cancelled while running", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tk := ticket(till, 1000)
		err := s.Update(ctx, func(tx gateway.Tx) error {
			cancel()
			return createTicket(tx, &tk)
		})
		if err != nil {
			t.Fatalf("got %v: the work was committed, the caller must be told so", err)
		}
		if _, err := s.Ticket(context.Background(), tk.ID); err != nil {
			t.Errorf("ticket of the caller cancelled while running: %v", err)
		}
	})
}

func seqsOf(evs []gateway.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

// Two Stores on one file stand for two processes (the service and a CLI
// command): the busy timeout makes them take turns, and the seq stays
// gapless because it is read inside the write lock.
func TestTwoWriters(t *testing.T) {
	path := dbPath(t)
	rec1, rec2 := &recorder{}, &recorder{}
	s1 := open(t, path, rec1)
	s2 := open(t, path, rec2)
	till := addTill(t, s1, "caisse")
	const perStore, each = 6, 5
	var wg sync.WaitGroup
	errs := make([]error, 2*perStore*each)
	for c := range 2 * perStore {
		s := s1
		if c%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			for j := range each {
				n := c*each + j
				tk := ticket(till, n)
				errs[n] = s.Update(context.Background(), func(tx gateway.Tx) error { return createTicket(tx, &tk) })
			}
		})
	}
	wg.Wait()
	for n, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", n, err)
		}
	}
	tickets, seqs, _ := committed(t, path)
	if len(tickets) != len(errs) {
		t.Errorf("%d tickets committed, want %d", len(tickets), len(errs))
	}
	checkGapless(t, "store", seqs, len(errs))
	// Each process publishes its own events, in order; together they are
	// the whole log, each event once.
	var all []int64
	for _, rec := range []*recorder{rec1, rec2} {
		got := seqsOf(rec.all())
		if !slices.IsSorted(got) {
			t.Errorf("published out of order: %v", got)
		}
		all = append(all, got...)
	}
	slices.Sort(all)
	checkGapless(t, "published by both", all, len(errs))
}

// A panic in fn is the caller's: it is raised in the caller's goroutine,
// its work is undone, and the callers it shared a commit with are not
// disturbed.
func TestPanicInUpdate(t *testing.T) {
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	ctx := context.Background()
	const callers = 8
	release := holdWriter(t, s)
	var ready, wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		ready.Add(1)
		wg.Go(func() {
			tk := ticket(till, i)
			ready.Done()
			errs[i] = s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) })
		})
	}
	var recovered any
	ready.Add(1)
	wg.Go(func() {
		defer func() { recovered = recover() }()
		tk := ticket(till, 100)
		ready.Done()
		s.Update(ctx, func(tx gateway.Tx) error {
			if err := createTicket(tx, &tk); err != nil {
				return err
			}
			panic("boom")
		})
	})
	ready.Wait()
	release()
	wg.Wait()

	if recovered != "boom" {
		t.Errorf("the caller recovered %v, want its own panic", recovered)
	}
	var want []string
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
		want = append(want, ticket(till, i).ID)
	}
	tickets, seqs, _ := committed(t, path)
	if !slices.Equal(tickets, want) {
		t.Errorf("committed tickets:\n%v\nwant\n%v", tickets, want)
	}
	checkGapless(t, "store", seqs, callers)

	tk := ticket(till, 200)
	if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
		t.Fatalf("update after a panic: %v", err)
	}
}

// When SQLite rolls back the whole transaction under a caller (SQLITE_FULL,
// an I/O error), the work of the callers before it in the batch is gone
// too: they must not be told it was committed, and the callers after it
// must not run outside the transaction.
func TestBrokenTransaction(t *testing.T) {
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	ctx := context.Background()
	const callers, breaker = 9, 4 // callers before and after it
	release := holdWriter(t, s)
	var ready, wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		ready.Add(1)
		wg.Go(func() {
			tk := ticket(till, i)
			ready.Done()
			errs[i] = s.Update(ctx, func(tx gateway.Tx) error {
				if err := createTicket(tx, &tk); err != nil {
					return err
				}
				if i == breaker {
					// What SQLite does on its own on such errors.
					return store.RawExec(tx, "ROLLBACK")
				}
				return nil
			})
		})
	}
	ready.Wait()
	release()
	wg.Wait()

	if errs[breaker] == nil {
		t.Error("the caller whose transaction was rolled back was told it committed")
	}
	var told []string
	for i, err := range errs {
		if err == nil {
			told = append(told, ticket(till, i).ID)
		}
	}
	tickets, seqs, _ := committed(t, path)
	if !slices.Equal(tickets, told) {
		t.Errorf("committed tickets:\n%v\nbut the callers told so are\n%v", tickets, told)
	}
	checkGapless(t, "store", seqs, len(told))

	tk := ticket(till, 100)
	if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
		t.Fatalf("update after a broken transaction: %v", err)
	}
	_, seqs, _ = committed(t, path)
	checkGapless(t, "store", seqs, len(told)+1)
}
