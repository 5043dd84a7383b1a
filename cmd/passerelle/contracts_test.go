package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

// The terminal protocol's JSON Schemas (docs/schema) checked against the
// frames a real gateway and the real simulator exchange.

const (
	fromTerminal = "terminal"
	fromGateway  = "gateway"
)

// protocolSchemas are the two schemas of docs/schema, compiled, with what
// their x-answered-by and x-answer-key annotations say.
type protocolSchemas struct {
	schema map[string]*jsonschema.Schema // by sender
	rules  map[string]map[string]answerRule
	types  map[string][]string // the message types each sender may send
}

// answerRule is how a message is answered: by one of the types in by, in
// the other direction, repeating its key field; by nothing if by is empty.
type answerRule struct {
	by  []string
	key string
}

var schemaFiles = map[string]string{
	fromTerminal: "terminal-to-gateway.schema.json",
	fromGateway:  "gateway-to-terminal.schema.json",
}

func loadProtocolSchemas(t *testing.T) *protocolSchemas {
	t.Helper()
	ps := &protocolSchemas{schema: map[string]*jsonschema.Schema{}, rules: map[string]map[string]answerRule{},
		types: map[string][]string{}}
	for from, name := range schemaFiles {
		path := filepath.Join("..", "..", "docs", "schema", name)
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		sch, err := c.Compile(path)
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		ps.schema[from] = sch
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Properties struct {
				Type struct {
					Enum []string `json:"enum"`
				} `json:"type"`
			} `json:"properties"`
			Defs map[string]struct {
				AnsweredBy *[]string `json:"x-answered-by"`
				AnswerKey  string    `json:"x-answer-key"`
			} `json:"$defs"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ps.types[from] = doc.Properties.Type.Enum
		ps.rules[from] = map[string]answerRule{}
		for _, typ := range doc.Properties.Type.Enum {
			d, ok := doc.Defs[typ]
			if !ok || d.AnsweredBy == nil {
				t.Fatalf("%s: message %s has no $defs entry with x-answered-by", name, typ)
			}
			ps.rules[from][typ] = answerRule{by: *d.AnsweredBy, key: d.AnswerKey}
		}
	}
	return ps
}

// validate returns what is wrong with a frame sent by from, or nil.
func (ps *protocolSchemas) validate(from string, data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return ps.schema[from].Validate(inst)
}

// frame is one WebSocket text message that went through the relay.
type frame struct {
	conn int    // the relay's connection number: one per terminal connection
	from string // fromTerminal or fromGateway
	data []byte
	msg  map[string]any
}

func (f frame) str(field string) string {
	s, _ := f.msg[field].(string)
	return s
}

// relay sits between terminals and the gateway and records every frame,
// untouched: the terminals connect to it as to the gateway.
type relay struct {
	gateway string // ws:// URL of the gateway's /ws/terminal
	srv     *httptest.Server

	mu     sync.Mutex
	frames []frame
	conns  int
}

func startRelay(t *testing.T, gatewayURL string) *relay {
	r := &relay{gateway: strings.Replace(gatewayURL, "http", "ws", 1) + terminalsim.Path}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.srv.CloseClientConnections()
		r.srv.Close()
	})
	return r
}

func (r *relay) serve(w http.ResponseWriter, req *http.Request) {
	// The terminal's offer goes to the gateway, and the gateway's choice
	// back to the terminal: v1 and v1.1 terminals both go through.
	d := websocket.Dialer{Subprotocols: websocket.Subprotocols(req), HandshakeTimeout: 10 * time.Second}
	gw, _, err := d.Dial(r.gateway, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	up := websocket.Upgrader{Subprotocols: []string{gw.Subprotocol()}}
	term, err := up.Upgrade(w, req, nil)
	if err != nil {
		gw.Close()
		return
	}
	r.mu.Lock()
	r.conns++
	id := r.conns
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.pump(id, fromGateway, gw, term)
	}()
	r.pump(id, fromTerminal, term, gw)
	<-done
}

// pump copies src to dst until either ends, then closes both.
func (r *relay) pump(id int, from string, src, dst *websocket.Conn) {
	defer func() {
		dst.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		dst.Close()
		src.Close()
	}()
	for {
		mt, data, err := src.ReadMessage()
		if err != nil {
			return
		}
		if mt == websocket.TextMessage {
			r.record(id, from, data)
		}
		if err := dst.WriteMessage(mt, data); err != nil {
			return
		}
	}
}

func (r *relay) record(id int, from string, data []byte) {
	f := frame{conn: id, from: from, data: slices.Clone(data)}
	json.Unmarshal(data, &f.msg) // a frame that is not an object keeps a nil msg: the schema says why
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
}

func (r *relay) all() []frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.frames)
}

// probe is a terminal written here, through the relay, for what the
// simulator never does: leave a payment pending, resume, make mistakes.
type probe struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialProbe(t *testing.T, r *relay, hello map[string]any, subprotocols ...string) (*probe, map[string]any) {
	t.Helper()
	if len(subprotocols) == 0 {
		subprotocols = []string{terminalsim.Subprotocol}
	}
	d := websocket.Dialer{Subprotocols: subprotocols}
	ws, _, err := d.Dial(strings.Replace(r.srv.URL, "http", "ws", 1)+terminalsim.Path, nil)
	if err != nil {
		t.Fatalf("probe: dial: %v", err)
	}
	p := &probe{t: t, ws: ws}
	t.Cleanup(func() { ws.Close() })
	p.send(hello)
	return p, p.next()
}

func (p *probe) send(m any) {
	p.t.Helper()
	b, ok := m.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(m); err != nil {
			p.t.Fatal(err)
		}
	}
	if err := p.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		p.t.Fatalf("probe: send %s: %v", b, err)
	}
}

func (p *probe) next() map[string]any {
	p.t.Helper()
	p.ws.SetReadDeadline(time.Now().Add(time.Minute)) // a bound, not a speed check
	_, data, err := p.ws.ReadMessage()
	if err != nil {
		p.t.Fatalf("probe: read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		p.t.Fatalf("probe: %s: %v", data, err)
	}
	return m
}

// expect reads messages until one of type typ, and returns it.
func (p *probe) expect(typ string) map[string]any {
	p.t.Helper()
	for {
		if m := p.next(); m["type"] == typ {
			return m
		}
	}
}

// probeMistakes are frames the gateway refuses as malformed: the schema
// must refuse them too. Each gets an error and changes nothing.
var probeMistakes = []struct {
	frame, code string
}{
	{`{"type":"bogus"}`, "unknown_type"},
	{`{"type":"answer","screen_id":"s1","value":5}`, "bad_json"},
	{`{"type":"start","key":"F2","extra":true}`, "bad_json"},
	{`{"type":"cancel"}`, "no_screen"},
	{`{"type":"hello","serial":"X","model":"M","app_version":"1","keys":["F1"]}`, "invalid"},
}

// TestProtocolSchemasAgainstRealFrames runs a real gateway and the real
// simulator through a recording relay (pay, split, decline, cancel, a
// dropped connection, an abort by the till), plus a probe for what the
// simulator never does (a payment left pending and asked about, resume,
// mistakes). Every frame must match docs/schema; every message type of the
// schemas must have been seen; and every message the schemas say is
// answered must have been, by a type they name, repeating its key, and
// done must never be.
func TestProtocolSchemasAgainstRealFrames(t *testing.T) {
	ps := loadProtocolSchemas(t)
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startSimGateway(t, bin, data, "--no-tls")
	url := strings.TrimSuffix(g.url, "/")
	r := startRelay(t, url)
	state := filepath.Join(t.TempDir(), "terminal.json")
	sim := func(script string, extra ...string) {
		t.Helper()
		args := append([]string{"--url", r.srv.URL, "--state", state, "--script", script}, extra...)
		if res := runSimTerminal(t, bin, args...); res.code != 0 {
			t.Fatalf("sim terminal %q exited %d:\n%s\n%s\ngateway:\n%s", script, res.code, res.stdout, res.stderr, g.log.String())
		}
	}

	// F2, paid in full; pairing with a code.
	t5 := simPostTour(t, url, key, simTourTicket("1253", "5", 3000))
	sim("F2; 5; full; approve; wait", "--code", simPairingCode(t, bin, data))
	// F1 split in two; the menu cancelled once first.
	simPostTour(t, url, key, simTourTicket("1254", "7", 1651))
	sim("F1; cancel; F1; 1; split; 2; pay; approve; next; approve; wait")
	// Declined, then paid; a table without a ticket.
	simPostTour(t, url, key, simTourTicket("1255", "8", 1000))
	sim("F2; 9; wait; F2; 8; full; decline; ok; full; approve; wait")
	// The connection drops before the result: it goes again, reconnected.
	simPostTour(t, url, key, simTourTicket("1256", "10", 1000))
	sim("F2; 10; full; drop; F2; 10; wait")

	// The probe, with the simulator's token. The till cancels a ticket
	// being paid: the terminal is asked to abort. Then a payment left
	// pending by a lost connection is asked about on the next one.
	st, err := terminalsim.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	t12 := simPostTour(t, url, key, simTourTicket("1258", "12", 1000))
	hello := map[string]any{"type": "hello", "serial": st.Serial, "model": "probe", "app_version": "1",
		"token": st.Token, "display": map[string]any{"cols": 16, "rows": 8}, "printer": map[string]any{"cols": 32},
		"keys": []string{"F1", "F2"}}
	p, m := dialProbe(t, r, hello)
	if m["type"] != "welcome" {
		t.Fatalf("probe hello: %v", m)
	}
	p.send(map[string]any{"type": "start", "key": "F2"})
	s := p.expect("screen")
	p.send(map[string]any{"type": "answer", "screen_id": s["screen_id"], "value": "12"})
	s = p.expect("screen")
	p.send(map[string]any{"type": "answer", "screen_id": s["screen_id"], "value": "full"})
	pay := p.expect("pay")["payment_id"].(string)
	if status := simDelete(t, url, key, t12.ID); status != http.StatusConflict {
		t.Errorf("DELETE of a ticket being paid: %d, want 409", status)
	}
	if m := p.expect("abort"); m["payment_id"] != pay {
		t.Fatalf("abort %v, want of %s", m, pay)
	}
	p.send(map[string]any{"type": "payment_result", "payment_id": pay, "status": "cancelled", "amount": 0, "currency": "EUR"})
	p.expect("ack")
	s = p.expect("screen") // PAIEMENT ANNULÉ
	p.send(map[string]any{"type": "answer", "screen_id": s["screen_id"], "value": ""})
	s = p.expect("screen") // the ticket again
	p.send(map[string]any{"type": "answer", "screen_id": s["screen_id"], "value": "full"})
	pay = p.expect("pay")["payment_id"].(string)
	p.ws.Close()

	p, _ = dialProbe(t, r, hello)
	if m := p.expect("status_request"); m["payment_id"] != pay {
		t.Fatalf("status_request %v, want about %s", m, pay)
	}
	p.send(map[string]any{"type": "payment_state", "payment_id": pay, "status": "not_found"})
	p.send(map[string]any{"type": "resume", "payment_id": pay})
	if m := p.expect("payment_state"); m["status"] != "cancelled" {
		t.Errorf("resume of a payment the terminal never started: %v", m)
	}
	paid := simGetTicket(t, url, key, t5.ID).Payments[0].ID
	p.send(map[string]any{"type": "resume", "payment_id": paid})
	if m := p.expect("payment_state"); m["status"] != "approved" {
		t.Errorf("resume of an approved payment: %v", m)
	}
	p.send(map[string]any{"type": "resume", "payment_id": "pay_0000000000000000000000000"})
	if m := p.expect("payment_state"); m["status"] != "not_found" {
		t.Errorf("resume of no payment: %v", m)
	}
	for _, c := range probeMistakes {
		p.send([]byte(c.frame))
		if m := p.expect("error"); m["code"] != c.code {
			t.Errorf("%s: %v, want code %s", c.frame, m, c.code)
		}
	}
	// Well-formed, refused: a key with no scenario, a result for no payment.
	p.send(map[string]any{"type": "start", "key": "F9"})
	p.expect("error")
	p.send(map[string]any{"type": "payment_result", "payment_id": "pay_0000000000000000000000000", "status": "declined",
		"amount": 0, "currency": "EUR"})
	p.expect("error")
	p.ws.Close()

	// Version 1.1: the list comes once, then as deltas; a terminal that
	// lost one asks for a snapshot.
	p, _ = dialProbe(t, r, hello, terminalsim.SubprotocolV11)
	p.send(map[string]any{"type": "start", "key": "F1"})
	s = p.expect("screen")
	simPostTour(t, url, key, simTourTicket("1259", "13", 1200))
	if m := p.expect("list_delta"); m["screen_id"] != s["screen_id"] {
		t.Errorf("list_delta %v, want on screen %v", m, s["screen_id"])
	}
	p.send(map[string]any{"type": "snapshot", "screen_id": s["screen_id"]})
	if m := p.expect("screen"); m["screen_id"] != s["screen_id"] {
		t.Errorf("after the snapshot request: %v", m)
	}
	// Pages: the probe told 8 rows; page 1 again comes as a new screen.
	p.send(map[string]any{"type": "page", "screen_id": s["screen_id"], "page": 1})
	if m := p.expect("screen"); m["screen_id"] == s["screen_id"] || m["page"] != float64(1) {
		t.Errorf("after the page request: %v", m)
	} else {
		s = m
	}
	p.send(map[string]any{"type": "cancel", "screen_id": s["screen_id"]})
	// A round trip after the cancel: the relay has recorded it.
	p.send(map[string]any{"type": "resume", "payment_id": "pay_0000000000000000000000000"})
	p.expect("payment_state")
	p.ws.Close()
	hello["token"] = "ptt_WRONG"
	if _, m := dialProbe(t, r, hello); m["type"] != "error" || m["code"] != "unauthorized" {
		t.Errorf("hello with a wrong token: %v", m)
	}

	frames := r.all()
	checkFrames(t, ps, frames)
	checkAnswers(t, ps, frames)
}

// simDelete cancels a ticket with the till API and returns the status.
func simDelete(t *testing.T, url, key, id string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, url+"/api/v1/tickets/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkFrames validates each frame against its sender's schema, the
// probe's deliberate mistakes excepted (which the schema must refuse), and
// checks that every message type and screen kind was seen.
func checkFrames(t *testing.T, ps *protocolSchemas, frames []frame) {
	t.Helper()
	mistakes := map[string]bool{}
	for _, c := range probeMistakes {
		mistakes[c.frame] = true
	}
	seen := map[string]bool{}
	for _, f := range frames {
		err := ps.validate(f.from, f.data)
		if f.from == fromTerminal && mistakes[string(f.data)] {
			// A hello after hello is well-formed: it is refused for when
			// it comes, which no schema says.
			if err == nil && f.str("type") != "hello" {
				t.Errorf("the schema takes %s, which the gateway refuses as malformed", f.data)
			}
			continue
		}
		if err != nil {
			t.Errorf("frame from the %s, connection %d, does not match the schema: %s\n%v", f.from, f.conn, f.data, err)
		}
		seen[f.from+" "+f.str("type")] = true
		if f.str("type") == "screen" {
			seen["screen "+f.str("kind")] = true
		}
	}
	var want []string
	for from, types := range ps.types {
		for _, typ := range types {
			want = append(want, from+" "+typ)
		}
	}
	for _, kind := range []string{gateway.ScreenMenu, gateway.ScreenInput, gateway.ScreenTicket, gateway.ScreenMessage} {
		want = append(want, "screen "+kind)
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no %s message in the run: the schema for it is unchecked", w)
		}
	}
	t.Logf("%d frames checked against the schemas over %d connections", len(frames), frames[len(frames)-1].conn)
}

// checkAnswers checks what the schemas' x-answered-by say against the
// conversation: a message answered by types T repeating key K gets a later
// message of the other side of a type in T with the same K (a screen or a
// print job on the same connection, whose ids are per connection; a
// payment on any later one: a result goes again after a reconnection), or
// an error at once; a message with no answer but a key (done) never gets
// one that repeats it; a message answered without a key (hello) gets the
// other side's next message of a type in T.
func checkAnswers(t *testing.T, ps *protocolSchemas, frames []frame) {
	t.Helper()
	for i, f := range frames {
		rule, ok := ps.rules[f.from][f.str("type")]
		if !ok || f.msg == nil {
			continue
		}
		other := fromGateway
		if f.from == fromGateway {
			other = fromTerminal
		}
		var replies []frame // the other side's later frames, in order
		for _, g := range frames[i+1:] {
			if g.from == other && (g.conn == f.conn || rule.key == "payment_id") {
				replies = append(replies, g)
			}
		}
		var firstOnConn *frame
		for j := range replies {
			if replies[j].conn == f.conn {
				firstOnConn = &replies[j]
				break
			}
		}
		switch {
		case len(rule.by) == 0 && rule.key != "":
			for _, g := range replies {
				if g.conn == f.conn && g.str(rule.key) == f.str(rule.key) {
					t.Errorf("%s was answered by %s", f.data, g.data)
				}
			}
		case len(rule.by) == 0:
		case rule.key == "":
			if firstOnConn == nil || !slices.Contains(rule.by, firstOnConn.str("type")) {
				t.Errorf("%s: the next message is not one of %v", f.data, rule.by)
			}
		default:
			answered := firstOnConn != nil && firstOnConn.str("type") == "error" && slices.Contains(rule.by, "error")
			for _, g := range replies {
				if slices.Contains(rule.by, g.str("type")) && g.str(rule.key) == f.str(rule.key) {
					answered = true
					break
				}
			}
			if !answered {
				t.Errorf("%s (connection %d) never got %v with its %s", f.data, f.conn, rule.by, rule.key)
			}
		}
	}
}

// TestProtocolSchemasRefuse: the schemas refuse what the protocol does,
// so a frame that validates is not validating by accident.
func TestProtocolSchemasRefuse(t *testing.T) {
	ps := loadProtocolSchemas(t)
	for _, c := range []struct{ from, frame string }{
		{fromTerminal, `{"type":"hello","serial":"S","model":"M","app_version":"1","keys":[]}`},                                     // neither code nor token
		{fromTerminal, `{"type":"hello","serial":"S","model":"M","app_version":"1","keys":[],"token":"t","pairing_code":"123456"}`}, // both
		{fromTerminal, `{"type":"hello","serial":"S","model":"M","app_version":"1","keys":[],"pairing_code":"12345"}`},
		{fromTerminal, `{"type":"payment_result","payment_id":"pay_1","status":"approved","amount":0,"currency":"EUR"}`},
		{fromTerminal, `{"type":"payment_result","payment_id":"pay_1","status":"pending","amount":100,"currency":"EUR"}`},
		{fromTerminal, `{"type":"payment_result","payment_id":"pay_1","status":"approved","amount":100,"currency":"EUR","card":{"masked_pan":"4970101234565743"}}`},
		{fromTerminal, `{"type":"payment_result","payment_id":"pay_1","status":"approved","amount":100,"currency":"EUR","card":{"masked_pan":"497010#####65743"}}`},
		{fromTerminal, `{"type":"payment_result","payment_id":"pay_1","status":"approved","amount":100,"currency":"EUR","auth_code":"A\u0007"}`},
		{fromTerminal, `{"type":"resume","payment_id":"pay_1","status":"x"}`},
		{fromTerminal, `{"type":"payment_state","payment_id":"pay_1","status":"approved"}`},
		{fromTerminal, `{"type":"welcome","terminal_id":"trm_1","name":"x"}`},
		{fromGateway, `{"type":"screen","screen_id":"s1","kind":"menu","title":"T"}`},                                      // no items
		{fromGateway, `{"type":"screen","screen_id":"s1","kind":"message","title":"T"}`},                                   // no timeout_s
		{fromGateway, `{"type":"screen","screen_id":"s1","kind":"ticket","title":"T","lines":[],"choices":[],"items":[]}`}, // a menu's field
		{fromGateway, `{"type":"done","screen_id":"s1","title":"T"}`},                                                      // no timeout_s
		{fromGateway, `{"type":"pay","payment_id":"pay_1","amount":0,"currency":"EUR","ticket_ref":"1","label":"DÉBIT"}`},  // nothing to pay
		{fromGateway, `{"type":"error","code":"oops"}`},
		{fromGateway, `{"type":"answer","screen_id":"s1","value":""}`},
	} {
		if err := ps.validate(c.from, []byte(c.frame)); err == nil {
			t.Errorf("the %s schema takes %s", c.from, c.frame)
		}
	}
	// And takes what the spec shows.
	for _, c := range []struct{ from, frame string }{
		{fromTerminal, `{"type":"hello","serial":"S","model":"M","app_version":"1","pairing_code":"123456","display":{"cols":16,"rows":8},"printer":{"cols":32},"keys":["F1","F2"]}`},
		{fromTerminal, `{"type":"payment_result","payment_id":"pay_1","status":"approved","amount":1000,"tip":0,"currency":"EUR","card":{"scheme":"CB","masked_pan":"#####5743","entry":"chip","aid":"A0000000421010"},"auth_code":"185568","transaction_ref":"185568D324964D","merchant_id":"0000015000","terminal_id":"02189020000","at":"2026-11-25T19:45:02Z","receipt":["CARTE BANCAIRE"],"emv":{"tvr":"0000000000"}}`},
		{fromTerminal, `{"type":"payment_result","payment_id":"pay_1","status":"declined","amount":0,"currency":"EUR","card":{"masked_pan":"497010######5743"}}`},
		{fromGateway, `{"type":"screen","screen_id":"s3","kind":"ticket","title":"Table 5","lines":["1 X PLAT N°4   23,50"],"total":5350,"due":5350,"choices":[{"id":"full","label":"Payer 53,50"}]}`},
		{fromGateway, `{"type":"done","screen_id":"s9","title":"","timeout_s":0}`},
	} {
		if err := ps.validate(c.from, []byte(c.frame)); err != nil {
			t.Errorf("the %s schema refuses %s: %v", c.from, c.frame, err)
		}
	}
}
