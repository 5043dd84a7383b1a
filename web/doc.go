// Package web is the manager's admin page: the shop's tickets, payments,
// terminals, tills, scenarios and day report, served by the gateway itself
// at https://<box>:8420/.
//
// Pages are rendered on the server with templ (the components are in
// web/views, pure functions of their view-models); one small embedded
// script adds live updates over server-sent events and nothing depends on
// it. Access is one password (Argon2id) and a session cookie; every
// state-changing request passes Go's cross-origin protection and carries a
// token tied to the session. The package reaches the rest of the gateway
// through gateway's services and the small interfaces declared here, which
// cmd/passerelle wires to the store and the drivers.
package web
