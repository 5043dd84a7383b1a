package views

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Lang is the page's language. French is the default: the shops are in
// France; English is the other choice.
type Lang string

// Languages.
const (
	French  Lang = "fr"
	English Lang = "en"
)

// ParseLang returns the language named s, and whether it is one.
func ParseLang(s string) (Lang, bool) {
	switch Lang(s) {
	case French, English:
		return Lang(s), true
	}
	return French, false
}

// FromAcceptLanguage picks French or English from an Accept-Language
// header, by the browser's order of preference; French if neither is
// named.
func FromAcceptLanguage(h string) Lang {
	type pref struct {
		lang Lang
		q    float64
		i    int
	}
	var prefs []pref
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		l, ok := ParseLang(base)
		if !ok {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q > 0 {
			prefs = append(prefs, pref{l, q, i})
		}
	}
	if len(prefs) == 0 {
		return French
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	return prefs[0].lang
}

// T returns the message key in l. A key without a translation shows as
// itself, which the tests look for.
func (l Lang) T(key string) string {
	if s, ok := lookup(key, l); ok {
		return s
	}
	return key
}

// Tf is T with fmt verbs filled in.
func (l Lang) Tf(key string, args ...any) string {
	return fmt.Sprintf(l.T(key), args...)
}

func lookup(key string, l Lang) (string, bool) {
	m, ok := messages[key]
	if !ok {
		return "", false
	}
	if l == English {
		return m[1], true
	}
	return m[0], true
}

// Keys returns every message key, for the tests.
func Keys() []string {
	out := make([]string, 0, len(messages))
	for k := range messages {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// messages holds each text in French, then English.
var messages = map[string][2]string{
	// Menu and titles.
	"nav.menu":      {"Menu", "Menu"},
	"nav.dashboard": {"Tableau de bord", "Dashboard"},
	"nav.tickets":   {"Tickets", "Tickets"},
	"nav.payments":  {"Paiements", "Payments"},
	"nav.terminals": {"Terminaux", "Terminals"},
	"nav.tills":     {"Caisses", "Tills"},
	"nav.scenarios": {"Scénarios", "Scenarios"},
	"nav.report":    {"Rapport du jour", "Day report"},
	"nav.settings":  {"Réglages", "Settings"},
	"nav.capture":   {"Capture", "Capture"},
	// Print capture.
	"cap.printers":         {"Imprimantes capturées", "Capture printers"},
	"cap.none":             {"Aucune imprimante capturée : ajoutez-en sous capture: dans passerelle.yaml (docs/capture.md).", "No capture printer: add one under capture: in passerelle.yaml (docs/capture.md)."},
	"cap.name":             {"Nom", "Name"},
	"cap.listen":           {"Écoute", "Listens on"},
	"cap.forward":          {"Imprimante", "Printer"},
	"cap.till":             {"Caisse", "Till"},
	"cap.template":         {"Modèle", "Template"},
	"cap.printer":          {"État", "State"},
	"cap.waiting":          {"En attente", "Waiting"},
	"cap.online":           {"en ligne", "online"},
	"cap.offline":          {"hors ligne", "offline"},
	"cap.unknown":          {"pas encore essayée", "not tried yet"},
	"cap.capture_only":     {"aucune (capture seule)", "none (capture only)"},
	"cap.jobs":             {"Impressions récentes", "Recent jobs"},
	"cap.no_jobs":          {"Aucune impression.", "No job."},
	"cap.ref":              {"note", "note"},
	"cap.status.created":   {"ticket créé", "ticket created"},
	"cap.status.updated":   {"ticket mis à jour", "ticket updated"},
	"cap.status.unchanged": {"réimpression", "reprint"},
	"cap.status.unparsed":  {"non lue", "unparsed"},
	"cap.status.refused":   {"refusée", "refused"},
	"cap.edit":             {"Écrire un modèle qui lit cette note", "Write a template that reads this note"},
	"cap.job_text":         {"Le texte imprimé", "The printed text"},
	"cap.tpl_name":         {"Nom du modèle (lettres, chiffres, tirets)", "Template name (letters, digits, hyphens)"},
	"cap.tpl_source":       {"Le modèle (YAML, docs/capture.md)", "The template (YAML, docs/capture.md)"},
	"cap.tpl_hint":         {"Enregistré seulement s'il lit cette note ; puis mettez template: NOM dans passerelle.yaml et redémarrez.", "Saved only if it reads this note; then set template: NAME in passerelle.yaml and restart."},
	"cap.tpl_try":          {"Essayer", "Try"},
	"cap.tpl_save":         {"Enregistrer", "Save"},
	"cap.tpl_result":       {"Ce que le modèle lit", "What the template reads"},
	"cap.tpl_saved":        {"Modèle enregistré dans templates/ du dossier de données.", "Template saved in templates/ of the data folder."},
	"cap.table":            {"table", "table"},
	"nav.logout":           {"Se déconnecter", "Log out"},
	"title.setup":          {"Première connexion", "First start"},
	"title.login":          {"Connexion", "Log in"},
	"title.ticket":         {"Ticket %s", "Ticket %s"},
	"title.error":          {"Erreur", "Error"},

	// Access.
	"setup.intro":     {"Bienvenue. Choisissez le mot de passe de la page d'administration : il n'y en a pas par défaut. Le code d'installation montre que vous avez accès à la machine de Passerelle.", "Welcome. Choose the admin page's password: there is no default one. The setup code shows that you have access to Passerelle's box."},
	"setup.code":      {"Code d'installation", "Setup code"},
	"setup.code_file": {"Sur la machine de Passerelle, dans le fichier", "On Passerelle's box, in the file"},
	"setup.code_or":   {"ou affiché par la commande", "or printed by the command"},
	"setup.code_cmd":  {"Sur la machine de Passerelle, affiché par la commande", "On Passerelle's box, printed by the command"},
	"setup.password":  {"Mot de passe", "Password"},
	"setup.confirm":   {"Confirmez le mot de passe", "Confirm the password"},
	"setup.hint":      {"Au moins 12 caractères. Une phrase de quelques mots se retient bien.", "At least 12 characters. A few words make a phrase that is easy to remember."},
	"setup.submit":    {"Enregistrer et entrer", "Save and enter"},
	"setup.done":      {"Le mot de passe est enregistré.", "The password is saved."},
	"login.password":  {"Mot de passe", "Password"},
	"login.submit":    {"Se connecter", "Log in"},
	"login.expired":   {"Votre session a expiré : reconnectez-vous.", "Your session expired: log in again."},
	"login.forgot":    {"Mot de passe oublié ? Sur la machine de Passerelle :", "Forgot the password? On Passerelle's box:"},
	"login.wrong":     {"Mot de passe incorrect.", "Wrong password."},
	"login.too_many":  {"Trop d'essais depuis cette adresse : attendez quelques minutes.", "Too many attempts from this address: wait a few minutes."},
	"login.slowed":    {"Trop de connexions manquées sur cette passerelle : chaque essai attend son tour. Réessayez dans %d s.", "Too many failed logins on this gateway: every attempt waits its turn. Try again in %d s."},
	"login.busy":      {"Trop de connexions en même temps : réessayez.", "Too many logins at once: try again."},
	"logout.done":     {"Vous êtes déconnecté.", "You are logged out."},

	// Dashboard.
	"dash.takings":           {"Encaissé aujourd'hui", "Taken today"},
	"dash.payments_n":        {"%d paiements", "%d payments"},
	"dash.tips":              {"pourboires", "tips"},
	"dash.open_due":          {"Reste à encaisser", "Still due"},
	"dash.tickets_n":         {"%d tickets ouverts", "%d open tickets"},
	"dash.terminals":         {"Terminaux", "Terminals"},
	"dash.online":            {"connectés", "online"},
	"dash.sync":              {"Synchronisation", "Sync"},
	"dash.in_progress":       {"Paiements en cours", "Payments in progress"},
	"dash.see_ticket":        {"voir le ticket", "see the ticket"},
	"dash.resolve":           {"à résoudre", "to resolve"},
	"dash.overpaid":          {"Tickets trop payés : à rembourser", "Overpaid tickets: to refund"},
	"dash.refund":            {"à rembourser", "to refund"},
	"dash.open_tickets":      {"Tickets ouverts", "Open tickets"},
	"dash.no_open":           {"Aucun ticket ouvert.", "No open ticket."},
	"dash.more_tickets":      {"Voir tous les tickets ouverts", "See every open ticket"},
	"dash.no_terminals":      {"Aucun terminal appairé.", "No paired terminal."},
	"dash.pair":              {"Appairer un terminal", "Pair a terminal"},
	"dash.disk_full":         {"Le disque du boîtier est plein : rien n'est enregistré, ni ticket ni paiement. Libérez de la place dans le dossier de données ; tout repart seul ensuite.", "The box's disk is full: nothing is recorded, neither tickets nor payments. Free space in the data directory; everything resumes by itself."},
	"dash.clock_off":         {"L'horloge du boîtier semble fausse : elle diffère de %s de celle de %s. Vérifiez la date et l'heure du boîtier (NTP) : les paiements sont classés au jour qu'elle donne.", "The box's clock looks wrong: it differs by %s from the clock of %s. Check the box's date and time (NTP): payments are filed under the day it gives."},
	"dash.scenarios_refused": {"Le fichier des scénarios sur le disque est refusé : les derniers scénarios valides restent en service.", "The scenarios file on disk is refused: the last valid scenarios stay in service."},
	"sync.off":               {"Non configurée", "Not set up"},
	"sync.off_hint":          {"Tout fonctionne sans internet.", "Everything works without internet."},
	"sync.failing":           {"En échec", "Failing"},
	"sync.queue":             {"%d en attente", "%d waiting"},
	"sync.last_success":      {"dernier envoi", "last sent"},

	// Tickets.
	"filter.status":         {"État", "Status"},
	"filter.any":            {"Tous", "Any"},
	"filter.day":            {"Jour", "Day"},
	"filter.apply":          {"Filtrer", "Filter"},
	"tickets.none":          {"Aucun ticket.", "No ticket."},
	"tickets.next":          {"Page suivante", "Next page"},
	"ticket.ref":            {"Ticket", "Ticket"},
	"ticket.table":          {"Table", "Table"},
	"ticket.server":         {"Serveur", "Server"},
	"ticket.till":           {"Caisse", "Till"},
	"ticket.status":         {"État", "Status"},
	"ticket.total":          {"Total", "Total"},
	"ticket.paid":           {"Payé", "Paid"},
	"ticket.due":            {"Reste dû", "Due"},
	"ticket.since":          {"Depuis", "Since"},
	"ticket.created":        {"Créé", "Created"},
	"ticket.updated":        {"Modifié", "Updated"},
	"ticket.covers":         {"Couverts", "Covers"},
	"ticket.loyalty":        {"Fidélité", "Loyalty"},
	"ticket.lines":          {"Lignes", "Lines"},
	"ticket.vat":            {"TVA", "VAT"},
	"ticket.no_payments":    {"Aucun paiement.", "No payment."},
	"ticket.history":        {"Historique", "History"},
	"ticket.cancel":         {"Annuler le ticket", "Cancel the ticket"},
	"ticket.cancel_confirm": {"Annuler ce ticket ? La caisse en sera informée.", "Cancel this ticket? The till will be told."},
	"ticket.cancelled":      {"Le ticket est annulé.", "The ticket is cancelled."},
	"line.label":            {"Libellé", "Item"},
	"line.qty":              {"Qté", "Qty"},
	"line.unit":             {"Prix unitaire", "Unit price"},
	"line.vat":              {"TVA", "VAT"},
	"line.amount":           {"Montant", "Amount"},
	"vat.rate":              {"Taux", "Rate"},
	"vat.base":              {"HT", "Net"},
	"vat.amount":            {"TVA", "VAT"},
	"vat.total":             {"TTC", "Gross"},
	"status.open":           {"Ouvert", "Open"},
	"status.partially_paid": {"Payé en partie", "Partly paid"},
	"status.paid":           {"Payé", "Paid"},
	"status.overpaid":       {"Trop payé", "Overpaid"},
	"status.cancelled":      {"Annulé", "Cancelled"},

	// Payments.
	"pay.in_progress":      {"En cours", "In progress"},
	"pay.unknown_hint":     {"Un paiement « inconnu » a perdu son terminal avant d'avoir son résultat : vérifiez sur le relevé de la banque ou le ticket du terminal, puis dites s'il est accepté ou refusé.", "An \"unknown\" payment lost its terminal before its result came: check the bank's records or the terminal's receipt, then say whether it was approved or declined."},
	"pay.list":             {"Paiements du jour", "The day's payments"},
	"pay.none":             {"Aucun paiement.", "No payment."},
	"pay.approved_total":   {"Acceptés :", "Approved:"},
	"pay.time":             {"Heure", "Time"},
	"pay.terminal":         {"Terminal", "Terminal"},
	"pay.amount":           {"Montant", "Amount"},
	"pay.tip":              {"Pourboire", "Tip"},
	"pay.card":             {"Carte", "Card"},
	"pay.auth":             {"Autorisation", "Auth code"},
	"pay.txref":            {"Réf. transaction", "Transaction ref"},
	"pay.actions":          {"Actions", "Actions"},
	"pay.by_manager":       {"par le gérant", "by the manager"},
	"pay.refund":           {"À rembourser", "To refund"},
	"pay.resolve_approved": {"Accepté", "Approved"},
	"pay.resolve_declined": {"Refusé", "Declined"},
	"pay.resolve_confirm":  {"Enregistrer ce résultat ? Il ne pourra plus être changé ici.", "Record this outcome? It cannot be changed here afterwards."},
	"pay.resolved":         {"Le paiement est résolu.", "The payment is resolved."},
	"pay.review":           {"À vérifier : le terminal contredit la décision du gérant", "To check: the terminal contradicts the manager's decision"},
	"pay.review_hint":      {"Le résultat du terminal est arrivé après la résolution à la main, et il dit autre chose : c'est lui qui compte sur le ticket. Vérifiez auprès de la banque, puis remboursez ou réclamez ce qu'il faut.", "The terminal's result came after the payment was resolved by hand, and it says otherwise: the ticket counts it. Check with the bank, then refund or claim what is needed."},
	"pay.review_decided":   {"Décision du gérant : %s", "Manager's decision: %s"},
	"pay.review_badge":     {"à vérifier", "to check"},
	"pay.reviewed":         {"Vérifié", "Checked"},
	"pay.reviewed_done":    {"Le paiement est marqué vérifié.", "The payment is marked checked."},
	"pay.abort":            {"Interrompre", "Abort"},
	"pay.aborted":          {"Le terminal a été prié d'interrompre le paiement.", "The terminal was asked to abort the payment."},
	"pay.reprint":          {"Duplicata", "Reprint"},
	"pay.reprint_hint":     {"Réimprimer le ticket bancaire et la note sur le terminal, marqués DUPLICATA", "Print the bank ticket and the note again on the terminal, marked DUPLICATA"},
	"pay.reprinted":        {"Le duplicata est envoyé à l'imprimante du terminal.", "The reprint was sent to the terminal's printer."},
	"pay.reprint_offline":  {"Le terminal n'est pas connecté : rien n'a été imprimé.", "The terminal is not connected: nothing was printed."},
	"pay.abort_offline":    {"Le terminal n'est pas connecté : le paiement deviendra inconnu à son échéance.", "The terminal is not connected: the payment becomes unknown at its deadline."},
	"pstatus.pending":      {"En cours", "Pending"},
	"pstatus.approved":     {"Accepté", "Approved"},
	"pstatus.declined":     {"Refusé", "Declined"},
	"pstatus.cancelled":    {"Annulé", "Cancelled"},
	"pstatus.error":        {"Erreur", "Error"},
	"pstatus.unknown":      {"Inconnu", "Unknown"},

	// Terminals.
	"term.pair":            {"Appairer un terminal", "Pair a terminal"},
	"term.pair_intro":      {"Un code d'appairage sert une fois, pendant 10 minutes. Saisissez-le sur le terminal, ou scannez le QR code.", "A pairing code works once, for 10 minutes. Type it on the terminal, or scan the QR code."},
	"term.new_code":        {"Nouveau code d'appairage", "New pairing code"},
	"term.code_intro":      {"Saisissez ce code sur le terminal :", "Type this code on the terminal:"},
	"term.code_expires":    {"Valable jusqu'à %s, une seule fois.", "Valid until %s, once."},
	"term.voided":          {"À %s, les codes d'appairage en cours ont été annulés : %d codes faux ont été essayés en 10 minutes, depuis %d adresses. Quelqu'un essaie peut-être de deviner un code. Créez un nouveau code quand le terminal est prêt.", "At %s the outstanding pairing codes were voided: %d wrong codes were tried within 10 minutes, from %d addresses. Someone may be guessing. Make a new code when the terminal is ready."},
	"term.qr_label":        {"QR code du lien d'appairage", "QR code of the pairing link"},
	"term.link_intro":      {"Ou scannez le QR code : il contient ce lien.", "Or scan the QR code: it holds this link."},
	"term.paired":          {"Terminaux appairés", "Paired terminals"},
	"term.name":            {"Nom", "Name"},
	"term.state":           {"État", "State"},
	"term.model":           {"Modèle", "Model"},
	"term.app":             {"Version", "App version"},
	"term.last_seen":       {"Vu", "Last seen"},
	"term.rename":          {"Renommer", "Rename"},
	"term.renamed":         {"Le terminal est renommé.", "The terminal is renamed."},
	"term.revoke":          {"Révoquer", "Revoke"},
	"term.revoke_confirm":  {"Révoquer ? Il sera déconnecté et devra être appairé de nouveau.", "Revoke? It is disconnected and must be paired again."},
	"term.revoked_done":    {"Le terminal est révoqué.", "The terminal is revoked."},
	"term.revoked":         {"Révoqué", "Revoked"},
	"term.online":          {"Connecté", "Online"},
	"term.offline":         {"Hors ligne", "Offline"},
	"term.discovered":      {"Terminaux découverts sur le réseau", "Terminals found on the network"},
	"term.none_discovered": {"Aucun terminal non appairé n'a été vu sur le réseau.", "No unpaired terminal was seen on the network."},

	"term.simulator":       {"Simulateur de terminal", "Terminal simulator"},
	"term.simulator_intro": {"Pour essayer un scénario sans terminal : un terminal de paiement dans le navigateur.", "To try a scenario without a terminal: a payment terminal in the browser."},

	// The terminal simulator.
	"sim.title":            {"Simulateur de terminal", "Terminal simulator"},
	"sim.intro":            {"Un terminal de paiement dans ce navigateur, qui parle à Passerelle comme un vrai : appairez-le, puis appuyez sur F1 ou F2. La carte est simulée : aucun paiement réel. Il apparaît dans la liste des terminaux, d'où on peut le révoquer.", "A payment terminal in this browser, talking to Passerelle as a real one does: pair it, then press F1 or F2. The card is simulated: no real payment. It shows in the terminals list, where it can be revoked."},
	"sim.needs_js":         {"Le simulateur a besoin de JavaScript.", "The simulator needs JavaScript."},
	"sim.state_off":        {"Non appairé.", "Not paired."},
	"sim.state_connecting": {"Connexion…", "Connecting…"},
	"sim.state_online":     {"Connecté : %s", "Online: %s"},
	"sim.state_offline":    {"Déconnecté, nouvelle tentative…", "Disconnected, trying again…"},
	"sim.state_refused":    {"Passerelle a refusé ce terminal : appairez-le de nouveau.", "Passerelle refused this terminal: pair it again."},
	"sim.pair_failed":      {"Pas de code d'appairage : rechargez la page.", "No pairing code: reload the page."},
	"sim.pair":             {"Appairer ce simulateur", "Pair this simulator"},
	"sim.forget":           {"Oublier ce terminal", "Forget this terminal"},
	"sim.idle":             {"Appuyez sur F1 ou F2", "Press F1 or F2"},
	"sim.total":            {"TOTAL", "TOTAL"},
	"sim.due":              {"DÛ", "DUE"},
	"sim.card":             {"Carte simulée — %s", "Simulated card — %s"},
	"sim.approve":          {"Carte acceptée", "Approve"},
	"sim.decline":          {"Carte refusée", "Decline"},
	"sim.error":            {"Refusé par Passerelle : %s", "Refused by Passerelle: %s"},
	"sim.input":            {"Saisie", "Input"},
	"sim.ok":               {"OK", "OK"},
	"sim.cancel":           {"Annuler", "Cancel"},
	"sim.keys_hint":        {"Montants en centimes (1050 = 10,50). OK choisit la première ligne.", "Amounts in cents (1050 = 10.50). OK picks the first line."},
	"sim.receipts":         {"Tickets imprimés", "Printed receipts"},
	"sim.no_receipt":       {"Rien d'imprimé pour l'instant.", "Nothing printed yet."},
	"sim.messages":         {"Messages échangés", "Messages exchanged"},
	"sim.page_prev":        {"◀ Page %s", "◀ Page %s"},
	"sim.page_next":        {"Page %s ▶", "Page %s ▶"},
	"sim.protocol":         {"Protocole : %s", "Protocol: %s"},
	"sim.delta":            {"Liste mise à jour par ses changements (version %s)", "List updated by its changes (version %s)"},
	"sim.snapshot":         {"Changements qui ne suivent pas la liste affichée : liste entière demandée", "Changes that do not follow the list shown: whole list asked for"},

	// Tills.
	"till.list":            {"Caisses", "Tills"},
	"till.none":            {"Aucune caisse.", "No till."},
	"till.name":            {"Nom", "Name"},
	"till.admin":           {"admin", "admin"},
	"till.active":          {"Active", "Active"},
	"till.callback":        {"URL de rappel (webhook)", "Callback URL (webhook)"},
	"till.callback_hint":   {"Passerelle y envoie les événements de la caisse, signés.", "Passerelle posts the till's events there, signed."},
	"till.delivery":        {"Livraison", "Delivery"},
	"till.never_delivered": {"Rien encore", "Nothing yet"},
	"till.failing":         {"En échec (%d essais)", "Failing (%d attempts)"},
	"till.delivered":       {"À jour (n° %d)", "Up to date (#%d)"},
	"till.retry":           {"Réessayer", "Retry"},
	"till.retried":         {"La livraison est relancée.", "Delivery is retried."},
	"till.callback_saved":  {"L'URL de rappel est enregistrée.", "The callback URL is saved."},
	"till.callback_set":    {"Webhooks de « %s » activés", "Webhooks of \"%s\" turned on"},
	"till.revoke_confirm":  {"Révoquer ? Sa clé cessera de fonctionner aussitôt.", "Revoke? Its key stops working at once."},
	"till.revoked":         {"La caisse est révoquée.", "The till is revoked."},
	"till.add":             {"Ajouter une caisse", "Add a till"},
	"till.admin_hint":      {"Clé admin : voit les tickets et événements de toutes les caisses", "Admin key: sees every till's tickets and events"},
	"till.create":          {"Créer", "Create"},
	"till.created":         {"Caisse « %s » créée", "Till \"%s\" created"},
	"till.key_once":        {"Voici sa clé. Elle n'est montrée qu'une fois : copiez-la maintenant dans les réglages de la caisse.", "Here is its key. It is shown only once: copy it into the till's settings now."},
	"till.secret_intro":    {"Secret des webhooks (vérifie l'en-tête Passerelle-Signature) :", "Webhook secret (verifies the Passerelle-Signature header):"},
	"form.optional":        {"facultatif", "optional"},
	"form.save":            {"Enregistrer", "Save"},

	// Scenarios.
	"scen.keys":       {"Touches", "Keys"},
	"scen.no_keys":    {"Aucune touche n'est associée à un scénario.", "No key starts a scenario."},
	"scen.key":        {"Touche", "Key"},
	"scen.scenario":   {"Scénario", "Scenario"},
	"scen.for":        {"Pour", "For"},
	"scen.whole_shop": {"Tout le magasin", "The whole shop"},
	"scen.file":       {"Fichier des scénarios", "Scenarios file"},
	"scen.invalid":    {"Le fichier n'est pas valide : rien n'a été enregistré.", "The file is not valid: nothing was saved."},
	"scen.line":       {"ligne %d", "line %d"},
	"scen.truncated":  {"D'autres problèmes suivent : corrigez d'abord ceux-ci.", "More problems follow: fix these first."},
	"scen.valid":      {"Le fichier est valide (pas encore enregistré).", "The file is valid (not saved yet)."},
	"scen.saved":      {"Scénarios enregistrés : ils s'appliquent au prochain scénario lancé.", "Scenarios saved: they apply to the next scenario started."},
	"scen.hint":       {"Le format est décrit dans docs/scenarios.md. Rien n'est enregistré tant que le fichier n'est pas valide.", "The format is described in docs/scenarios.md. Nothing is saved until the file is valid."},
	"scen.validate":   {"Vérifier", "Validate"},
	"scen.save":       {"Vérifier et enregistrer", "Validate and save"},
	"scen.refused":    {"Le fichier sur le disque est refusé :", "The file on disk is refused:"},

	// Day report.
	"report.z":           {"Rapport Z", "Z report"},
	"report.takings":     {"Encaissé ce jour-là", "Taken that day"},
	"report.prev":        {"Veille", "Day before"},
	"report.next":        {"Lendemain", "Day after"},
	"report.csv":         {"Exporter en CSV", "Export as CSV"},
	"report.print":       {"Imprimer", "Print"},
	"report.by_vat":      {"Par taux de TVA", "By VAT rate"},
	"report.vat_hint":    {"Chaque paiement accepté est réparti entre les taux de TVA de son ticket, au prorata ; les pourboires n'y entrent pas.", "Each approved payment is shared among its ticket's VAT rates, pro rata; tips are left out."},
	"report.total":       {"Total", "Total"},
	"report.by_scheme":   {"Par type de carte", "By card scheme"},
	"report.by_terminal": {"Par terminal", "By terminal"},
	"report.by_server":   {"Par serveur", "By server"},
	"report.other":       {"Paiements non aboutis", "Payments not approved"},
	"report.count":       {"Nombre", "Count"},
	"report.nothing":     {"Rien ce jour-là.", "Nothing that day."},

	// Settings.
	"set.shop":          {"Le magasin", "The shop"},
	"set.name":          {"Nom", "Name"},
	"set.header_hint":   {"Le nom, l'adresse et le téléphone forment l'en-tête des tickets imprimés.", "The name, address and phone make the printed receipts' header."},
	"set.address":       {"Adresse", "Address"},
	"set.phone":         {"Téléphone", "Phone"},
	"set.vat_rates":     {"Taux de TVA (%)", "VAT rates (%)"},
	"set.vat_hint":      {"Séparés par des espaces ou des points-virgules : 0 ; 5,5 ; 10 ; 20", "Separated by spaces or semicolons: 0; 5.5; 10; 20"},
	"set.time_zone":     {"Fuseau horaire", "Time zone"},
	"set.currency":      {"Devise :", "Currency:"},
	"set.saved":         {"Réglages enregistrés.", "Settings saved."},
	"set.password":      {"Mot de passe", "Password"},
	"set.current":       {"Mot de passe actuel", "Current password"},
	"set.new":           {"Nouveau mot de passe", "New password"},
	"set.password_hint": {"Les autres sessions ouvertes seront fermées.", "Every other open session is closed."},
	"set.change":        {"Changer le mot de passe", "Change the password"},
	"set.changed":       {"Mot de passe changé.", "Password changed."},
	"set.box":           {"La machine", "The box"},
	"set.fingerprint":   {"Empreinte du certificat TLS", "TLS certificate fingerprint"},
	"set.data_dir":      {"Dossier des données", "Data directory"},
	"set.db_size":       {"Taille de la base", "Database size"},
	"set.version":       {"Version", "Version"},
	"set.backup":        {"Télécharger une sauvegarde", "Download a backup"},
	"up.title":          {"Synchronisation (hub)", "Sync (hub)"},
	"up.state":          {"État", "State"},
	"up.queue":          {"En attente", "Waiting"},
	"up.acked":          {"Reçu par le hub jusqu'à", "Acknowledged by the hub up to"},
	"up.last_success":   {"Dernier envoi réussi", "Last sent"},
	"up.last_error":     {"Dernière erreur", "Last error"},
	"up.url":            {"Adresse du hub", "Hub URL"},
	"up.store_id":       {"Identifiant du magasin (store_id)", "Store ID (store_id)"},
	"up.key":            {"Clé du magasin", "Store key"},
	"up.key_hint":       {"Laisser vide pour garder la clé enregistrée. Elle n'est jamais réaffichée.", "Leave empty to keep the saved key. It is never shown again."},
	"up.ca":             {"Empreinte SHA-256 du certificat du hub (s'il est auto-signé)", "SHA-256 fingerprint of the hub's certificate (if self-signed)"},
	"up.save":           {"Enregistrer et tester", "Save and test"},
	"up.test":           {"Tester la connexion", "Test the connection"},
	"up.off":            {"Arrêter la synchronisation", "Stop sync"},
	"up.off_hint":       {"Rien de ce qui attend n'est perdu : elle reprend où elle en était.", "Nothing waiting is lost: it resumes where it stopped."},
	"up.test_result":    {"Test de la connexion :", "Connection test:"},
	"sync.turned_off":   {"Synchronisation arrêtée.", "Sync stopped."},
	"set.backup_hint":   {"Une copie cohérente de la base, prise sans arrêter le service.", "A consistent copy of the database, taken without stopping the service."},

	// Form problems.
	"err.required":       {"Obligatoire.", "Required."},
	"err.bad_day":        {"Date invalide (AAAA-MM-JJ).", "Invalid date (YYYY-MM-DD)."},
	"err.bad_status":     {"État inconnu.", "Unknown status."},
	"err.bad_vat":        {"Taux invalide : « %s » (un pourcentage de 0 à 100, deux décimales au plus).", "Invalid rate: \"%s\" (a percentage from 0 to 100, two decimals at most)."},
	"err.bad_zone":       {"Fuseau horaire inconnu.", "Unknown time zone."},
	"err.too_long":       {"Trop long.", "Too long."},
	"err.bad_text":       {"Caractères non acceptés.", "Characters not accepted."},
	"err.card_number":    {"Ressemble à un numéro de carte : refusé.", "Looks like a card number: refused."},
	"err.bad_url":        {"Doit être une URL http ou https.", "Must be an http or https URL."},
	"err.callback_box":   {"Ne doit désigner ni ce boîtier (127.0.0.1, ::1, localhost, 0.0.0.0) ni une adresse link-local (169.254.x.x, fe80::) : une adresse du réseau du magasin convient.", "Must point neither at this box (127.0.0.1, ::1, localhost, 0.0.0.0) nor at a link-local address (169.254.x.x, fe80::): an address of the shop's network is fine."},
	"err.pw_short":       {"Au moins 12 caractères.", "At least 12 characters."},
	"err.pw_long":        {"128 caractères au plus.", "128 characters at most."},
	"err.pw_differ":      {"Les deux mots de passe diffèrent.", "The two passwords differ."},
	"err.pw_current":     {"Ce n'est pas le mot de passe actuel.", "That is not the current password."},
	"err.setup_code":     {"Ce n'est pas le code d'installation : relisez-le sur la machine de Passerelle.", "That is not the setup code: read it again on Passerelle's box."},
	"err.exists":         {"Ce nom est déjà pris.", "That name is taken."},
	"err.csrf":           {"Le formulaire a expiré ou vient d'un autre site : rechargez la page et recommencez.", "The form expired or came from another site: reload the page and try again."},
	"err.not_found":      {"Page introuvable.", "Page not found."},
	"err.conflict":       {"Impossible : %s", "Not possible: %s"},
	"err.internal":       {"Une erreur interne est survenue ; elle est dans le journal de Passerelle.", "An internal error happened; it is in Passerelle's log."},
	"err.too_large":      {"Le formulaire est trop gros.", "The form is too large."},
	"err.already_set":    {"Le mot de passe est déjà choisi : connectez-vous.", "The password is already set: log in."},
	"err.scenarios_read": {"Le fichier des scénarios n'a pas pu être lu :", "The scenarios file could not be read:"},
	"error.home":         {"Retour au tableau de bord", "Back to the dashboard"},

	// The event log, in a ticket's history.
	"event.ticket.created":    {"Ticket reçu de la caisse", "Ticket received from the till"},
	"event.ticket.updated":    {"Ticket modifié par la caisse", "Ticket changed by the till"},
	"event.ticket.cancelled":  {"Ticket annulé", "Ticket cancelled"},
	"event.ticket.paid":       {"Ticket réglé", "Ticket paid"},
	"event.payment.started":   {"Paiement commencé", "Payment started"},
	"event.payment.approved":  {"Paiement accepté", "Payment approved"},
	"event.payment.declined":  {"Paiement refusé", "Payment declined"},
	"event.payment.cancelled": {"Paiement annulé", "Payment cancelled"},
	"event.payment.unknown":   {"Paiement sans résultat (terminal perdu)", "Payment without outcome (terminal lost)"},
	"event.payment.error":     {"Paiement en erreur", "Payment error"},
	"event.payment.resolved":  {"Paiement résolu par le gérant", "Payment resolved by the manager"},
	"event.payment.review":    {"Résultat du terminal contraire à la décision du gérant : à vérifier", "The terminal's result contradicts the manager's decision: to check"},
}
