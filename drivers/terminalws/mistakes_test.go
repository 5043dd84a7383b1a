package terminalws_test

import (
	"testing"

	"github.com/passerelle/passerelle/drivers/terminalws"
)

// A waiter's mistakes are not a misbehaving terminal: a key mapped to no
// scenario, an input refused on the screen, an answer to a screen gone get
// their error each time and the terminal stays connected, its scenario on
// the screen where it was. Only malformed messages count towards
// MaxBadMessages.
func TestWaiterMistakesKeepConnection(t *testing.T) {
	e := newEnv(t, envOptions{unlimited: true}) // faster than a waiter presses keys
	e.post(t, note("1253", "5"))
	c := e.pair(t)
	for range 2 * terminalws.MaxBadMessages {
		c.start("F9")
		c.expectError("invalid")
	}
	c.start("F2")
	in := c.expectScreen("input")
	for range 2 * terminalws.MaxBadMessages {
		c.answer("not a table")
		c.expectError("bad_answer")
	}
	for range 2 * terminalws.MaxBadMessages {
		c.send(map[string]string{"type": "answer", "screen_id": "s999", "value": "5"})
		c.expectError("no_screen")
	}
	if c.screen.ScreenID != in.ScreenID {
		t.Fatalf("the input screen was replaced by %s", c.screen)
	}
	// Mistakes between malformed messages do not add to their count.
	for range terminalws.MaxBadMessages - 1 {
		c.send([]byte(`{"type":"bogus"}`))
		c.expectError("unknown_type")
		c.start("F9")
		c.expectError("invalid")
	}
	c.answer("5")
	c.expectScreen("ticket")
}
