// Package notes reads a till's printed note (the text of a print job, as
// package escpos decodes it) into a ticket, with a template: regular
// expressions for each field, matched line by line.
//
// A template never guesses: a note is read only when it has a reference,
// lines, and a total that the lines add up to; otherwise Read says why
// and the job stays unparsed. The template file format and the built-in
// "default" template are described in docs/capture.md.
package notes
