package terminalws_test

import (
	"sync"
	"testing"
	"time"
)

// Terminals connecting while the gateway stops: every connection the hub
// took is closed before Run returns, and one that comes after is closed at
// once, never served. Under -race this also checks that taking a
// connection never races with the wait for the connections to end.
func TestConnectionsDuringShutdown(t *testing.T) {
	e := newEnv(t, envOptions{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if ws, _, err := e.dial(nil); err == nil {
					ws.Close()
				}
			}
		}()
	}
	e.stopHub()
	<-e.hubDone
	wg.Wait()

	ws, _, err := e.dial(nil)
	if err != nil {
		return // refused outright: not served either
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(wait))
	if _, data, err := ws.ReadMessage(); err == nil {
		t.Errorf("a connection after the stop was served: %s", data)
	}
}
